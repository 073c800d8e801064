# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth checkpoint / restore of a container on a berth.rootfs.lower overlay, and
a berth killed in the middle of a restore, in the test VM (tests/vm/run-in-vm.sh).

The container writes into its writable layer before the checkpoint (a file, an
owner and mode, a symlink, a hard link, a deleted lower file: a whiteout, a
directory made again: trusted.overlay.opaque) and keeps a file open that its
counter appends to. After the restore each test reads them where the container
sees them (`berth exec`), and the counter going on, on its stdout and in the
open file. Then nothing may be left: no mount of the box, no state dir, no
cgroup. Skips outside the VM or without criu, as tests/vm/test_vm_criu.py.
"""

import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from test_vm_criu import BERTH, Box, berth_cgroups, drain, read_numbers, rootfs  # noqa: F401
from test_vm_criu import pytestmark  # noqa: F401

# what the container does before its counter: each line leaves a trace in the upper layer
WRITES = ("echo hello > /written; ln /written /hard; ln -s /written /link; "
          "touch /owned; chmod 0640 /owned; chown 1234:5678 /owned; "
          "rm /etc/group; rm -rf /srv; mkdir /srv; echo new > /srv/new; mkfifo /fifo; ")
COUNTER = WRITES + ("exec 3>>/log; i=0; while true; do echo $i; echo $i >&3; "
                    "i=$((i+1)); sleep 0.1; done")


def mounts_of(path):
    """Lines of our mountinfo whose mount point is under path."""
    p = str(path)
    return [l for l in open("/proc/self/mountinfo") if l.split()[4].startswith(p)]


class OverlayBox(Box):
    """A Box whose rootfs is an empty mount point and whose image is a lower layer."""

    def __init__(self, rootfs, upper=False, readonly=False):
        super().__init__(rootfs)
        self.lower = self.dir / "lower"
        (self.bundle / "rootfs").rename(self.lower)
        (self.bundle / "rootfs").mkdir()
        (self.lower / "srv").mkdir()
        (self.lower / "srv" / "old").write_text("old\n")
        ann = self.cfg.setdefault("annotations", {})
        ann["berth.rootfs.lower"] = str(self.lower)
        self.upper = None
        if upper:
            self.upper = self.dir / "upper"
            self.upper.mkdir()
            ann["berth.rootfs.upper"] = str(self.upper)
        # (`berth spec` makes the root read-only)
        self.cfg["root"]["readonly"] = readonly
        if not readonly:
            self.cfg["process"]["args"] = ["sh", "-c", COUNTER]
            caps = self.cfg["process"]["capabilities"]
            for k in ("bounding", "effective", "permitted"):
                caps[k] = caps.get(k, []) + ["CAP_CHOWN"]

    def exec_out(self, cid, *argv):
        rc, out, err = self.cmd("exec", cid, *argv)
        assert rc == 0, f"exec {argv}: {err}"
        return out


@pytest.fixture
def leakcheck():
    """Cgroups, state dirs and mounts as before the test."""
    boxes = []
    before = berth_cgroups()
    yield boxes
    # before the cleanup, whose umount -R would hide a leaked mount
    leaked = [l for b in boxes for l in mounts_of(b.dir)]
    for b in boxes:
        b.cleanup()
    assert not leaked, leaked
    deadline = time.monotonic() + 5
    while berth_cgroups() != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert berth_cgroups() == before, "cgroups left behind"


def check_writes(b, cid):
    """What the container wrote before the checkpoint, as it sees it now."""
    assert b.exec_out(cid, "cat", "/written") == "hello\n"
    assert b.exec_out(cid, "stat", "-c", "%u:%g:%a", "/owned").strip() == "1234:5678:640"
    assert b.exec_out(cid, "readlink", "/link").strip() == "/written"
    assert b.exec_out(cid, "stat", "-c", "%h", "/written").strip() == "2"
    assert b.exec_out(cid, "stat", "-c", "%F", "/fifo").strip() == "fifo"
    # the whiteout hides the lower's file, the opaque directory the lower's content
    assert b.exec_out(cid, "sh", "-c", "test -e /etc/group || echo gone").strip() == "gone"
    assert b.exec_out(cid, "ls", "/srv").split() == ["new"]
    # the lower layer is what it was
    assert (b.lower / "etc" / "group").is_file() and (b.lower / "srv" / "old").is_file()


def log_numbers(b, cid):
    return [int(x) for x in b.exec_out(cid, "cat", "/log").split()]


def checkpoint_and_stop(b, cid, r):
    before = read_numbers(r, want=5)
    assert before, "the counter printed nothing"
    b.cmd("checkpoint", "--image-path", b.img, cid, check=True)
    assert b.state(cid)["status"] == "stopped"
    return before + drain(r)


def check_counter(b, cid, r2, before):
    after = read_numbers(r2, want=5)
    assert after and after[0] == before[-1] + 1, (before[-3:], after[:3])
    # and the open file: the restored process goes on appending to it
    logged = log_numbers(b, cid)
    assert logged == list(range(len(logged))), logged[-5:]
    assert logged[-1] > before[-1], (before[-1], logged[-3:])


def test_persistent_upper(leakcheck, rootfs):
    b = OverlayBox(rootfs, upper=True)
    leakcheck.append(b)
    cid, r = b.start()
    before = checkpoint_and_stop(b, cid, r)
    b.cmd("delete", cid, check=True)
    assert (b.upper / "written").read_text() == "hello\n"
    r2, _, _ = b.restore(cid)
    assert b.state(cid)["status"] == "running"
    check_writes(b, cid)
    check_counter(b, cid, r2, before)
    # in the persistent layer itself, on the host
    n = len((b.upper / "log").read_text().split())
    assert n > before[-1] + 1
    b.cmd("delete", "--force", cid, check=True)
    assert not (b.root / cid).exists()
    assert (b.upper / "written").is_file()


def test_ephemeral_upper_kept_in_the_images(leakcheck, rootfs):
    b = OverlayBox(rootfs)
    leakcheck.append(b)
    cid, r = b.start()
    before = checkpoint_and_stop(b, cid, r)
    b.cmd("delete", cid, check=True)
    assert not (b.root / cid).exists()
    saved = b.img / "berth-rootfs-upper"
    assert (saved / "written").read_text() == "hello\n"
    assert os.getxattr(saved / "srv", "trusted.overlay.opaque") == b"y"
    st = os.lstat(saved / "etc" / "group")
    assert (st.st_mode & 0o170000) == 0o020000 and st.st_rdev == 0
    # the same ID
    r2, _, _ = b.restore(cid)
    check_writes(b, cid)
    check_counter(b, cid, r2, before)
    b.cmd("delete", "--force", cid, check=True)
    # a new ID from the same images, twice
    for _ in range(2):
        new = b.new_id()
        r3, _, _ = b.restore(new)
        check_writes(b, new)
        after = read_numbers(r3, want=3)
        assert after and after[0] == before[-1] + 1, (before[-3:], after[:3])
        b.cmd("delete", "--force", new, check=True)
        assert not (b.root / new).exists()
    # the images are as the checkpoint left them
    assert sorted(os.listdir(saved / "srv")) == ["new"]


def test_readonly_overlay_of_two_layers(leakcheck, rootfs):
    b = OverlayBox(rootfs, readonly=True)
    leakcheck.append(b)
    top = b.dir / "top"
    top.mkdir()
    (top / "on-top").write_text("top\n")
    b.cfg["annotations"]["berth.rootfs.lower"] = f"{top}:{b.lower}"
    cid, r = b.start()
    before = checkpoint_and_stop(b, cid, r)
    b.cmd("delete", cid, check=True)
    r2, _, _ = b.restore(cid)
    after = read_numbers(r2, want=5)
    assert after and after[0] == before[-1] + 1, (before[-3:], after[:3])
    assert b.exec_out(cid, "cat", "/on-top") == "top\n"
    pid = b.state(cid)["pid"]
    root = [l for l in open(f"/proc/{pid}/mountinfo") if l.split()[4] == "/"]
    assert root and "ro" in root[-1].split()[5].split(","), root
    b.cmd("delete", "--force", cid, check=True)


def test_hostile_saved_upper(leakcheck, rootfs):
    """The image dir is not trusted: its saved layer is copied entry by entry,
    nothing followed; a symlink in place of the layer is refused."""
    b = OverlayBox(rootfs)
    leakcheck.append(b)
    victim = b.dir / "victim"
    victim.mkdir()
    cid, r = b.start()
    checkpoint_and_stop(b, cid, r)
    b.cmd("delete", cid, check=True)
    saved = b.img / "berth-rootfs-upper"
    real = b.img / "real-upper"
    saved.rename(real)
    saved.symlink_to(victim)
    _, rc, err = b.restore(cid, check=False)
    assert rc == 1 and "berth-rootfs-upper" in err, err
    assert not (b.root / cid).exists()
    # a symlink inside it stays a symlink in the container, pointing nowhere on the host
    saved.unlink()
    real.rename(saved)
    os.symlink(str(victim), saved / "escape")
    r2, _, _ = b.restore(cid)
    b.exec_out(cid, "sh", "-c", "echo x > /escape/planted || true")
    assert os.listdir(victim) == []
    assert b.exec_out(cid, "readlink", "/escape").strip() == str(victim)
    b.cmd("delete", "--force", cid, check=True)


def test_berth_killed_in_a_restore_leaves_nothing(leakcheck, rootfs):
    """SIGKILL to berth while CRIU restores (the prestart hook kills its parent,
    berth): no criu-root mount stays in our mount namespace, and delete removes
    the half-made container."""
    b = Box(rootfs)
    leakcheck.append(b)
    cid, r = b.start()
    read_numbers(r, want=2)
    b.cmd("checkpoint", "--image-path", b.img, cid, check=True)
    b.cmd("delete", cid, check=True)
    b.cfg["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "kill -KILL $PPID"]}]}
    b.save()
    _, rc, _ = b.restore(cid, check=False)
    assert rc == -9, rc
    assert not [l for l in open("/proc/self/mountinfo") if "criu-root" in l]
    rc, out, err = b.cmd("list", "--format", "json")
    assert rc == 0, err
    listed = {c["id"]: c["status"] for c in json.loads(out)}
    assert listed.get(cid) == "creating", listed
    b.cmd("delete", "--force", cid, check=True)
    assert not (b.root / cid).exists()
    assert not mounts_of(b.dir)
