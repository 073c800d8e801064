# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth checkpoint / berth restore with CRIU, in the test VM (tests/vm/run-in-vm.sh).

The host's kernel is too new for Debian's criu 3.17; in the VM (Debian's 6.1
kernel) `criu check` passes. Skips outside the VM or without criu. Each test
reads the effect where a user sees it: the counter's own output, the cgroup's
files, what a client gets from the restored listener. runc does the same
where it can, side by side, and the times of both are printed (-s).
"""

import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BERTH = os.path.abspath(os.environ.get("BERTH") or str(REPO / "build" / "berth"))
RUNC = shutil.which("runc")
CRIU = shutil.which("criu") or ("/usr/sbin/criu" if os.path.exists("/usr/sbin/criu") else None)
CG = pathlib.Path("/sys/fs/cgroup")


def criu_check_passes():
    """`criu check` passes. It runs at collection, where nothing is printed yet: one
    that hangs fails the collection in 300 s instead of holding the VM to its timeout."""
    try:
        return subprocess.run([CRIU, "check"], capture_output=True, timeout=300).returncode == 0
    except subprocess.TimeoutExpired:
        raise RuntimeError("criu check did not finish within 300 s") from None


def _criu_ok():
    if not os.environ.get("BERTH_IN_VM") or not CRIU:
        return False
    return criu_check_passes()


pytestmark = pytest.mark.skipif(not _criu_ok(), reason="not in the test VM, or criu check fails")

COUNTER = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done"


@pytest.fixture(scope="module")
def rootfs():
    d = pathlib.Path(tempfile.mkdtemp(prefix="berth-vm-criu-"))
    r = d / "rootfs"
    for sub in ("bin", "proc", "sys", "dev", "tmp", "etc"):
        (r / sub).mkdir(parents=True)
    shutil.copy2("/bin/busybox", r / "bin" / "busybox")
    for a in subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True,
                            check=True).stdout.split():
        if a != "busybox":
            os.symlink("busybox", r / "bin" / a)
    (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (r / "etc" / "group").write_text("root:x:0:\n")
    yield r
    shutil.rmtree(d, ignore_errors=True)


def berth_cgroups():
    return sorted(str(p) for p in CG.rglob("*") if p.is_dir() and "criu-" in p.name)


class Box:
    """A bundle, a state root and an image dir under /tmp; runtime is berth or runc."""

    def __init__(self, rootfs, runtime=BERTH):
        self.runtime = runtime
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="berth-vm-criu-box-"))
        self.bundle = self.dir / "bundle"
        self.root = self.dir / "state"
        self.img = self.dir / "img"
        self.bundle.mkdir()
        subprocess.run(["cp", "-a", str(rootfs), str(self.bundle / "rootfs")], check=True)
        subprocess.run([BERTH, "spec", "-b", str(self.bundle)], check=True)
        self.cfg = json.loads((self.bundle / "config.json").read_text())
        self.cfg["process"]["terminal"] = False
        self.cfg["process"]["args"] = ["sh", "-c", COUNTER]
        self.ids = []
        self.readers = []

    def save(self):
        (self.bundle / "config.json").write_text(json.dumps(self.cfg))

    def cmd(self, *args, stdout=None, stderr=None, check=False, timeout=120):
        with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
            t0 = time.monotonic()
            cp = subprocess.run([self.runtime, "--root", str(self.root)] + [str(a) for a in args],
                                stdin=subprocess.DEVNULL, stdout=stdout if stdout else fo,
                                stderr=stderr if stderr else fe, text=True, timeout=timeout)
            self.elapsed = time.monotonic() - t0
            fo.seek(0)
            fe.seek(0)
            out, err = fo.read(), fe.read()
        if check:
            assert cp.returncode == 0, f"{self.runtime} {' '.join(map(str, args))}: {err}"
        return cp.returncode, out, err

    def new_id(self):
        cid = "criu-" + secrets.token_hex(3)
        self.ids.append(cid)
        return cid

    def pipe(self):
        """A pipe whose write end becomes the container's stdout."""
        r, w = os.pipe()
        os.set_blocking(r, False)
        self.readers.append(r)
        return r, w

    def start(self, cid=None):
        """create + start with stdout on a pipe; returns (id, read end)."""
        self.save()
        cid = cid or self.new_id()
        r, w = self.pipe()
        # stderr too: a file of the host is not the container's to checkpoint
        er, ew = self.pipe()
        self.cmd("create", "-b", self.bundle, cid, stdout=w, stderr=ew, check=True)
        os.close(w)
        os.close(ew)
        self.cmd("start", cid, check=True)
        return cid, r

    def restore(self, cid, *extra, bundle=None, check=True):
        r, w = self.pipe()
        # berth's own stderr is the restored container's (descriptors.json): a pipe, read here
        er, ew = self.pipe()
        rc, out, _ = self.cmd("restore", "-d", "-b", bundle or self.bundle, "--image-path",
                              self.img, *extra, cid, stdout=w, stderr=ew)
        os.close(w)
        os.close(ew)
        err = read_text(er) if rc else ""
        if check:
            assert rc == 0, f"restore {cid}: {err}"
        return r, rc, err

    def state(self, cid):
        rc, out, err = self.cmd("state", cid)
        assert rc == 0, err
        return json.loads(out)

    def cleanup(self):
        for cid in self.ids:
            self.cmd("delete", "--force", cid)
        for r in self.readers:
            os.close(r)
        subprocess.run(["umount", "-R", str(self.dir)], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def read_numbers(fd, want=1, timeout=20):
    """The numbers read from fd until at least want arrived and the pipe is quiet."""
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            chunk = None
        if chunk == b"":
            break
        if chunk:
            buf += chunk
        elif len(buf.split()) >= want:
            break
        time.sleep(0.1)
    return [int(x) for x in buf.split()]


def read_text(fd, timeout=30):
    """What a pipe holds once its writers are gone (berth's error). A writer still
    there after timeout seconds (a process that a failed restore left running)
    fails the test rather than hang it."""
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            assert time.monotonic() < deadline, \
                f"the pipe still has a writer after {timeout} s; read so far: {buf!r}"
            time.sleep(0.05)
            continue
        if not chunk:
            return buf.decode(errors="replace")
        buf += chunk


def drain(fd):
    """What is left in a pipe whose writer is gone."""
    return read_numbers(fd, want=10**9, timeout=5)


def no_leaks(box, before):
    deadline = time.monotonic() + 5
    while berth_cgroups() != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert berth_cgroups() == before, "cgroups left behind"


@pytest.fixture
def box(rootfs):
    before = berth_cgroups()
    b = Box(rootfs)
    yield b
    b.cleanup()
    no_leaks(b, before)


@pytest.fixture
def runc_box(rootfs):
    if not RUNC:
        pytest.skip("runc is not installed")
    before = berth_cgroups()
    b = Box(rootfs, RUNC)
    yield b
    b.cleanup()
    no_leaks(b, before)


def counter_round_trip(b):
    """Checkpoint a counter and restore it: the numbers go on where they were."""
    cid, r = b.start()
    before = read_numbers(r, want=5)
    assert before, "the counter printed nothing"
    b.cmd("checkpoint", "--image-path", b.img, cid, check=True)
    t_dump = b.elapsed
    if b.runtime == BERTH:
        assert b.state(cid)["status"] == "stopped"
        b.cmd("delete", cid, check=True)
    # (runc deletes the container itself after a checkpoint)
    before += drain(r)
    r2, _, _ = b.restore(cid)
    t_restore = b.elapsed
    assert b.state(cid)["status"] == "running"
    after = read_numbers(r2, want=5)
    assert after[0] == before[-1] + 1, (before[-5:], after[:5])
    assert after == list(range(after[0], after[0] + len(after))), after
    return cid, t_dump, t_restore


def test_counter_continues_after_restore(box):
    cid, td, tr = counter_round_trip(box)
    print(f"\nberth checkpoint {td * 1000:.0f} ms, restore {tr * 1000:.0f} ms")
    # its cgroup is the container's
    pid = box.state(cid)["pid"]
    cg = open(f"/proc/{pid}/cgroup").read().strip()
    assert cg.endswith("/" + cid), cg


def test_runc_counter_side_by_side(runc_box):
    _, td, tr = counter_round_trip(runc_box)
    print(f"\nrunc checkpoint {td * 1000:.0f} ms, restore {tr * 1000:.0f} ms")


def test_leave_running(box):
    cid, r = box.start()
    read_numbers(r, want=3)
    box.cmd("checkpoint", "--leave-running", "--image-path", box.img, cid, check=True)
    assert box.state(cid)["status"] == "running"
    n1 = read_numbers(r, want=3)
    assert n1, "the counter stopped"
    # the images restore under another ID, beside the original
    other = box.new_id()
    r2, _, _ = box.restore(other)
    assert box.state(other)["status"] == "running"
    assert read_numbers(r2, want=3)
    assert box.state(cid)["status"] == "running"


def test_restore_under_a_new_id_from_the_same_images(box):
    cid, r = box.start()
    read_numbers(r, want=3)
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    box.cmd("delete", cid, check=True)
    for _ in range(2):
        new = box.new_id()
        r2, _, _ = box.restore(new)
        assert read_numbers(r2, want=2)
        box.cmd("delete", "--force", new, check=True)


def test_pre_dump_then_dump(box):
    cid, r = box.start()
    read_numbers(r, want=3)
    pre = box.dir / "img" / "pre"
    box.cmd("checkpoint", "--pre-dump", "--image-path", pre, cid, check=True)
    assert box.state(cid)["status"] == "running"
    box.img = box.dir / "img" / "final"
    box.cmd("checkpoint", "--parent-path", "../pre", "--image-path", box.img, cid, check=True)
    assert (box.img / "parent").is_symlink()
    before = drain(r)
    box.cmd("delete", cid, check=True)
    r2, _, _ = box.restore(cid)
    after = read_numbers(r2, want=3)
    assert after[0] == before[-1] + 1, (before[-3:], after[:3])


def test_memory_limit_and_bind_mount_survive(box):
    src = box.dir / "shared"
    src.mkdir()
    (src / "f").write_text("hello\n")
    box.cfg["mounts"].append({"destination": "/shared", "type": "bind", "source": str(src),
                              "options": ["rbind", "ro"]})
    box.cfg["linux"]["resources"] = {"memory": {"limit": 64 * 1024 * 1024}}
    box.cfg["process"]["args"] = ["sh", "-c", "while true; do cat /shared/f; sleep 0.2; done"]
    cid, r = box.start()
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    box.cmd("delete", cid, check=True)
    r2, _, _ = box.restore(cid)
    pid = box.state(cid)["pid"]
    cg = open(f"/proc/{pid}/cgroup").read().strip().split("::")[1]
    assert (CG / cg.lstrip("/") / "memory.max").read_text().strip() == str(64 * 1024 * 1024)
    buf = b""
    deadline = time.monotonic() + 10
    while b"hello" not in buf and time.monotonic() < deadline:
        try:
            buf += os.read(r2, 4096)
        except BlockingIOError:
            time.sleep(0.1)
    assert b"hello" in buf


def test_restore_onto_a_fresh_rootfs_makes_the_bind_targets(box):
    """podman's restore --import: the same images onto a fresh copy of the image's
    rootfs, which lacks the targets of the bind mounts create made (a file and a
    nested directory here). The restore makes them, as create does; it used to fail
    with "mnt-v2: Can't stat mountpoint .../etc/hostsfile"."""
    src = box.dir / "hostsfile"
    src.write_text("127.0.0.1 here\n")
    data = box.dir / "data"
    data.mkdir()
    (data / "f").write_text("hello\n")
    box.cfg["mounts"] += [
        {"destination": "/etc/hostsfile", "type": "bind", "source": str(src),
         "options": ["rbind", "ro"]},
        {"destination": "/srv/deep/data", "type": "bind", "source": str(data),
         "options": ["rbind"]}]
    box.cfg["process"]["args"] = ["sh", "-c", "while true; do cat /srv/deep/data/f; sleep 0.2; done"]
    cid, r = box.start()
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    box.cmd("delete", cid, check=True)
    rootfs = box.bundle / "rootfs"
    (rootfs / "etc" / "hostsfile").unlink()
    shutil.rmtree(rootfs / "srv" / "deep")
    r2, _, _ = box.restore(cid)
    assert box.state(cid)["status"] == "running"
    buf = b""
    deadline = time.monotonic() + 10
    while b"hello" not in buf and time.monotonic() < deadline:
        try:
            buf += os.read(r2, 4096)
        except BlockingIOError:
            time.sleep(0.1)
    assert b"hello" in buf
    assert (rootfs / "etc" / "hostsfile").is_file() and (rootfs / "srv/deep/data").is_dir()


def test_readonly_root_stays_readonly(box):
    box.cfg["root"]["readonly"] = True
    cid, r = box.start()
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    box.cmd("delete", cid, check=True)
    box.restore(cid)
    pid = box.state(cid)["pid"]
    root = [l for l in open(f"/proc/{pid}/mountinfo") if l.split()[4] == "/"]
    assert root and "ro" in root[-1].split()[5].split(","), root


def test_missing_images_fail_clearly(box):
    box.save()
    cid = box.new_id()
    r, rc, err = box.restore(cid, check=False)
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f'restore "{cid}"' in lines[0], err
    assert "image path" in lines[0] and "No such file or directory" in lines[0], err
    assert not (box.root / cid).exists()
    # a directory that holds no checkpoint
    box.img.mkdir()
    r, rc, err = box.restore(cid, check=False)
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f'restore "{cid}"' in lines[0] and "no checkpoint" in lines[0], err
    assert not (box.root / cid).exists()


def test_restore_whose_rootfs_is_gone_fails_clearly(box):
    cid, r = box.start()
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    box.cmd("delete", cid, check=True)
    before = berth_cgroups()
    shutil.rmtree(box.bundle / "rootfs")
    _, rc, err = box.restore(cid, check=False)
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f'restore "{cid}"' in lines[0] and "root.path" in lines[0], err
    assert not (box.root / cid).exists()
    assert berth_cgroups() == before


def test_checkpoint_delete_restore_same_id_twice(box):
    cid, r = box.start()
    read_numbers(r, want=2)
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    box.cmd("delete", cid, check=True)
    box.restore(cid)
    box.img = box.dir / "img2"
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    assert box.state(cid)["status"] == "stopped"
    box.cmd("delete", cid, check=True)
    r3, _, _ = box.restore(cid)
    assert read_numbers(r3, want=2)


def recv_master(srv):
    conn, _ = srv.accept()
    with conn:
        _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    assert len(fds) == 1
    os.set_blocking(fds[0], False)
    return fds[0]


def start_with_terminal(box):
    """A counter on a terminal: created with a --console-socket the test listens on.
    Returns its id, the numbers it wrote, the socket's path and the listener."""
    box.cfg["process"]["terminal"] = True
    box.save()
    path = box.dir / "console.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    srv.settimeout(30)
    cid = box.new_id()
    box.cmd("create", "-b", box.bundle, "--console-socket", path, cid, check=True)
    master = recv_master(srv)
    box.readers.append(master)
    box.cmd("start", cid, check=True)
    return cid, read_numbers(master, want=3), path, srv


def test_terminal_via_console_socket(box):
    cid, before, path, srv = start_with_terminal(box)
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    box.cmd("delete", cid, check=True)
    rc, _, err = box.cmd("restore", "-d", "-b", box.bundle, "--image-path", box.img,
                         "--console-socket", path, cid)
    assert rc == 0, err
    master2 = recv_master(srv)
    box.readers.append(master2)
    srv.close()
    after = read_numbers(master2, want=3)
    assert after and after[0] > before[-1], (before[-3:], after[:3])


def logged_numbers(box, cid, want, timeout=30):
    """The counter's numbers in berth logs (berth-shim's container.log)."""
    deadline = time.monotonic() + timeout
    nums = []
    while time.monotonic() < deadline:
        rc, out, err = box.cmd("logs", cid)
        assert rc == 0, err
        nums = [int(line.split()[-1]) for line in out.splitlines()
                if line.split() and line.split()[-1].isdigit()]
        if len(nums) >= want:
            break
        time.sleep(0.2)
    return nums


def test_restore_with_shim_logs_and_wait(box):
    """restore --shim: berth-shim takes the restored counter as run -d does: its output
    goes on in berth logs, berth wait gets its exit status, berth exits at once."""
    box.save()
    cid = box.new_id()
    box.cmd("run", "-d", "-b", box.bundle, cid, check=True)
    before = logged_numbers(box, cid, want=3)
    assert before, "the counter logged nothing"
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    before = logged_numbers(box, cid, want=len(before))
    box.cmd("delete", cid, check=True)
    rc, _, err = box.cmd("restore", "--shim", "-b", box.bundle, "--image-path", box.img, cid,
                         timeout=120)
    assert rc == 0, err
    assert box.state(cid)["status"] == "running"
    after = logged_numbers(box, cid, want=3)
    assert after and after[0] == before[-1] + 1, (before[-3:], after[:3])
    box.cmd("kill", cid, "KILL", check=True)
    rc, out, err = box.cmd("wait", cid, timeout=30)
    assert rc == 0 and out.strip() == "137", (rc, out, err)
    st = box.state(cid)
    assert st["status"] == "stopped"
    assert st["annotations"]["berth.exitCode"] == "137", st


def test_dump_freezes_the_cgroup_of_a_forking_container(box):
    """The container's cgroup is frozen for the dump (as runc asks CRIU): a process that
    forks all the time cannot make new tasks while CRIU seizes them one by one."""
    box.cfg["process"]["args"] = ["sh", "-c",
                                  "i=0; while true; do echo $i; i=$((i+1)); "
                                  "(true) & (true) & wait; sleep 0.05; done"]
    cid, r = box.start()
    before = read_numbers(r, want=5)
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    log = (box.img / "dump.log").read_text()
    assert "freezing processes" in log, "CRIU was not asked to freeze the container's cgroup"
    before += drain(r)
    box.cmd("delete", cid, check=True)
    r2, _, _ = box.restore(cid)
    after = read_numbers(r2, want=5)
    assert after and after[0] == before[-1] + 1, (before[-3:], after[:3])


def test_terminal_restored_under_the_shim(box):
    """A terminal container restored with --shim and no --console-socket: berth-shim
    holds the new pty master CRIU hands back, and logs what the counter writes to it."""
    cid, before, _, srv = start_with_terminal(box)
    srv.close()
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    box.cmd("delete", cid, check=True)
    rc, _, err = box.cmd("restore", "--shim", "-b", box.bundle, "--image-path", box.img, cid)
    assert rc == 0, err
    after = logged_numbers(box, cid, want=3)
    assert after and after[0] > before[-1], (before[-3:], after[:3])


def status_fields(pid, keys=("Seccomp", "Seccomp_filters", "NoNewPrivs", "CapInh", "CapPrm",
                             "CapEff", "CapBnd", "CapAmb", "Uid", "Gid")):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in keys:
            out[k] = v.split()
    return out


def test_seccomp_and_capabilities_come_back(box):
    """The restored init has the filter, no_new_privs, capabilities and ids it had:
    /proc/PID/status before the checkpoint and after the restore are the same."""
    box.cfg["process"]["capabilities"] = {k: ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
                                          for k in ("bounding", "effective", "permitted")}
    box.cfg["process"]["noNewPrivileges"] = True
    cid, r = box.start()
    read_numbers(r, want=2)
    before = status_fields(box.state(cid)["pid"])
    assert before["Seccomp"] == ["2"] and before["NoNewPrivs"] == ["1"], before
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    box.cmd("delete", cid, check=True)
    r2, _, _ = box.restore(cid)
    assert read_numbers(r2, want=2)
    assert status_fields(box.state(cid)["pid"]) == before
