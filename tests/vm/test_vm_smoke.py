# SPDX-License-Identifier: LGPL-2.1-or-later
"""Smoke test of the cgroup-v2 test VM (tests/vm/run-in-vm.sh).

Runs inside the VM (tests/run starts it there): the VM must give a pure cgroup v2
hierarchy with every controller delegated from the root, the modules the
cgroup tests rely on, and berth must put a container in a cgroup of its own
there. Skips on a host whose /sys/fs/cgroup is not cgroup2.
"""

import json
import os
import pathlib
import secrets
import shutil
import subprocess
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BERTH = os.path.abspath(os.environ.get("BERTH") or str(REPO / "build" / "berth"))
CG = pathlib.Path("/sys/fs/cgroup")
CGROUP2_SUPER_MAGIC = 0x63677270


def is_cgroup2(path):
    try:
        out = subprocess.run(["stat", "-f", "-c", "%t", str(path)], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return False
    return int(out.strip(), 16) == CGROUP2_SUPER_MAGIC


pytestmark = pytest.mark.skipif(not is_cgroup2(CG), reason="/sys/fs/cgroup is not cgroup2")


def berth_cgroups():
    return sorted(str(p) for p in CG.rglob("*") if p.is_dir() and "berth" in str(p))


@pytest.fixture(scope="module")
def rootfs():
    if not os.access(BERTH, os.X_OK):
        pytest.fail(f"berth binary not found at {BERTH} (set BERTH=...)")
    # A minimal busybox tree made without a process per applet: under TCG every
    # exec costs tens of milliseconds (tests/lib/mkrootfs.sh takes ~20 s here).
    d = pathlib.Path(tempfile.mkdtemp(prefix="berth-vm-smoke-"))
    r = d / "rootfs"
    for sub in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "etc"):
        (r / sub).mkdir(parents=True)
    shutil.copy2("/bin/busybox", r / "bin" / "busybox")
    applets = subprocess.run(["/bin/busybox", "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if not (r / a).exists() and not a.endswith("/busybox"):
            os.symlink("/bin/busybox", r / a)
    (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (r / "etc" / "group").write_text("root:x:0:\n")
    yield r
    shutil.rmtree(d, ignore_errors=True)


class Box:
    """A bundle (a copy of the busybox rootfs) and a state root under /tmp."""

    def __init__(self, rootfs):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="berth-vm-box-"))
        self.bundle = self.dir / "bundle"
        self.root = self.dir / "state"
        self.bundle.mkdir()
        subprocess.run(["cp", "-a", str(rootfs), str(self.bundle / "rootfs")], check=True)
        subprocess.run([BERTH, "spec", "-b", str(self.bundle)], check=True)
        with open(self.bundle / "config.json") as f:
            self.cfg = json.load(f)
        self.cfg["process"]["terminal"] = False
        self.cfg["root"] = {"path": "rootfs", "readonly": False}
        self.ids = []

    def berth(self, *args, check=False):
        with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
            cp = subprocess.run([BERTH, "--root", str(self.root)] + [str(a) for a in args],
                                stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, text=True,
                                timeout=60)
            fo.seek(0)
            fe.seek(0)
            out, err = fo.read(), fe.read()
        if check:
            assert cp.returncode == 0, f"berth {' '.join(map(str, args))}: {err}"
        return cp.returncode, out, err

    def create(self, args):
        self.cfg["process"]["args"] = args
        with open(self.bundle / "config.json", "w") as f:
            json.dump(self.cfg, f)
        cid = "vmsmoke-" + secrets.token_hex(3)
        self.ids.append(cid)
        self.berth("create", "-b", self.bundle, cid, check=True)
        return cid

    def pid(self, cid):
        _, out, _ = self.berth("state", cid, check=True)
        return json.loads(out)["pid"]

    def cleanup(self):
        for cid in self.ids:
            self.berth("delete", "--force", cid)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def box(rootfs):
    before = berth_cgroups()
    b = Box(rootfs)
    yield b
    b.cleanup()
    deadline = time.monotonic() + 5
    while berth_cgroups() != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert berth_cgroups() == before, "cgroups left behind"


def cgroup_of(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        lines = f.read().splitlines()
    assert len(lines) == 1 and lines[0].startswith("0::"), lines
    return CG / lines[0][3:].lstrip("/")


def test_pure_cgroup2_with_all_controllers():
    with open("/proc/self/mountinfo") as f:
        types = [l.split(" - ")[1].split()[0] for l in f]
    assert "cgroup" not in types, "a cgroup v1 hierarchy is mounted"
    ctrls = (CG / "cgroup.subtree_control").read_text().split()
    for c in ("cpu", "cpuset", "io", "memory", "pids", "hugetlb"):
        assert c in ctrls, f"controller {c} not enabled at the root: {ctrls}"


def test_fifo_and_socket_in_tmp():
    # The reason state and bundles live under /tmp in the VM: 9p refuses these.
    d = pathlib.Path(tempfile.mkdtemp())
    try:
        os.mkfifo(d / "fifo")
        assert (d / "fifo").is_fifo()
    finally:
        shutil.rmtree(d)


def test_modules_for_network_and_io_tests():
    name = "bvm" + secrets.token_hex(3)
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"],
                   check=True)
    subprocess.run(["ip", "link", "del", name], check=True)
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "del", name], check=True)
    had = os.path.exists("/sys/module/null_blk")
    subprocess.run(["modprobe", "null_blk"], check=True)
    try:
        assert pathlib.Path("/dev/nullb0").is_block_device()
    finally:
        if not had:
            subprocess.run(["rmmod", "null_blk"], check=True)


def test_container_gets_its_own_cgroup(box):
    cid = box.create(["sh", "-c", "cat /proc/self/cgroup"])
    cg = cgroup_of(box.pid(cid))
    assert cg.parent.name == "berth" and cid in cg.name, cg
    assert str(box.pid(cid)) in (cg / "cgroup.procs").read_text().split()
    box.berth("start", cid, check=True)
    box.berth("delete", "--force", cid, check=True)
    assert not cg.exists()


def test_unified_memory_max(box):
    limit = 64 << 20
    box.cfg.setdefault("linux", {}).setdefault("resources", {})["unified"] = {
        "memory.max": str(limit)}
    cid = box.create(["true"])
    cg = cgroup_of(box.pid(cid))
    assert (cg / "memory.max").read_text().strip() == str(limit)
