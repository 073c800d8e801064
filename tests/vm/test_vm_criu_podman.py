# SPDX-License-Identifier: LGPL-2.1-or-later
"""podman's checkpoint and restore (CRIU) with berth as its runtime, runc beside it.

Runs inside the VM of tests/vm/run-in-vm.sh (tests/vm/run-tests.sh starts it there):
Debian's criu 3.17 cannot work on the host's newer kernel, in the VM `criu check`
passes. Skips outside the VM or when criu, podman or runc are missing. Every case runs
with runc first, as the reference, then with berth: a berth case skips with the reason
while `berth checkpoint --help` fails (the command does not exist yet) and when runc
failed the same case, and fails where runc passed.

- a counter container checkpointed and restored by podman (`podman container
  checkpoint` / `restore`) goes on counting from where it was: its log is one unbroken
  sequence from 0;
- the same with a terminal (`-t`: conmon hands the runtime a --console-socket on restore);
- `checkpoint --leave-running`: the container keeps counting, and the images are there;
- `checkpoint --export FILE.tar.gz`, `podman rm`, `restore --import FILE.tar.gz`;
- failures: an archive to import that does not exist (podman's own error), images CRIU
  cannot restore (the page files removed), then no images at all (podman's check);
  each leaves the container stopped and nothing of it running;
- `berth restore` of a bundle whose rootfs is gone (runc beside it): one line, and no
  state, cgroup or process left.
All podman state is under a temporary directory (tests/engines/lib.sh's podman_conf,
the busybox image of tests/lib/mkrootfs.sh), nothing from a registry.
"""

import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BERTH = os.path.abspath(os.environ.get("BERTH") or str(REPO / "build" / "berth"))
RUNC = shutil.which("runc") or "/usr/sbin/runc"
IMG = "localhost/berth-criu:latest"
COUNTER = "i=0; while :; do echo $i; i=$((i+1)); sleep 0.2; done"
CG = pathlib.Path("/sys/fs/cgroup")
# under TCG a podman command takes seconds, a checkpoint tens of them
SLOW = 300


def run(*argv, check=True, timeout=SLOW, env=None):
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=timeout, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))}: exit {r.returncode}\n"
                             f"{r.stdout}\n{r.stderr}")
    return r


def criu_works():
    if os.environ.get("BERTH_IN_VM") != "1":
        return "needs the test VM (tests/vm/run-in-vm.sh): criu 3.17 fails on the host's kernel"
    for tool in ("criu", "podman", "conmon"):
        if not shutil.which(tool):
            return f"{tool} is not installed"
    if not os.access(RUNC, os.X_OK):
        return "runc is not installed"
    r = run("criu", "check", check=False, timeout=120)
    if r.returncode != 0:
        return f"criu check fails: {(r.stderr or r.stdout).strip().splitlines()[-1:]}"
    return None


SKIP_WHY = criu_works()
pytestmark = pytest.mark.skipif(SKIP_WHY is not None, reason=SKIP_WHY or "")


def berth_has_checkpoint():
    r = run(BERTH, "checkpoint", "--help", check=False, timeout=30)
    return r.returncode == 0


RUNTIMES = {"runc": RUNC, "berth": BERTH}
# case name -> what runc's run of it ended with (None: passed)
runc_verdict = {}


@pytest.fixture
def runtime(request):
    """The runtime of this case; berth's skip while runc fails or it has no checkpoint."""
    name = request.param
    case = request.node.originalname
    if name == "runc":
        # a failed call phase is counted before the teardown runs
        failed = request.session.testsfailed
        yield name
        runc_verdict[case] = "failed" if request.session.testsfailed > failed else None
        return
    if not os.access(BERTH, os.X_OK):
        pytest.fail(f"berth binary not found at {BERTH} (set BERTH=...)")
    if not berth_has_checkpoint():
        pytest.skip("berth has no checkpoint command yet (`berth checkpoint --help` fails)")
    if case not in runc_verdict:
        pytest.skip("runc's run of this case did not happen: nothing to compare with")
    if runc_verdict[case] is not None:
        pytest.skip(f"runc fails this case too ({runc_verdict[case]})")
    yield name


both = pytest.mark.parametrize("runtime", ["runc", "berth"], indirect=True)


class Podman:
    """podman with all its state under one temporary directory, the image imported."""

    def __init__(self, work):
        self.work = work
        self.env = dict(os.environ, CONTAINERS_CONF=str(work / "containers.conf"))
        self.base = ["podman", "--root", work / "storage", "--runroot", work / "run",
                     "--tmpdir", work / "tmp", "--cgroup-manager", "cgroupfs",
                     "--storage-driver", "overlay"]

    def __call__(self, runtime, *args, check=True):
        return run(*self.base, "--runtime", RUNTIMES[runtime], *args, check=check,
                   env=self.env)


@pytest.fixture(scope="module")
def work():
    """A directory with tests/engines' containers.conf and busybox rootfs (and its
    tarball)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="berth-criu-podman-"))
    run("bash", "-c", 'source "$1/tests/engines/lib.sh" && trap - INT TERM HUP PIPE && '
        'podman_conf "$2" && mk_rootfs_tar "$2"', "lib", REPO, d,
        env=dict(os.environ, BERTH=BERTH))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def podman(work):
    p = Podman(work)
    run(*p.base, "import", "-q", work / "busybox.tar", IMG, env=p.env)
    yield p
    run(*p.base, "rm", "-af", "-t", "0", check=False, env=p.env)
    run(*p.base, "system", "reset", "-f", check=False, env=p.env)
    mounts = [l.split()[4] for l in pathlib.Path("/proc/self/mountinfo").read_text().splitlines()
              if l.split()[4].startswith(str(work))]
    for m in sorted(mounts, reverse=True):
        run("umount", "-l", m, check=False)


def leftovers(runtime, cid, root=None):
    """What of container CID is still there: runtime state (under ROOT, default the
    runtime's own), cgroups, processes."""
    left = []
    r = run(RUNTIMES[runtime], *(["--root", root] if root else []), "list", "-q", check=False,
            timeout=60)
    if cid in r.stdout.split():
        left.append(f"{runtime} list shows it")
    for d in CG.rglob(f"*{cid}*"):
        if d.is_dir():
            left.append(f"cgroup {d}")
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if cid in (p / "cgroup").read_text():
                left.append(f"process {p.name}")
        except OSError:
            pass
    return left


@pytest.fixture
def counter(podman, runtime):
    """Start a counter container (extra `podman run` options by calling it); rm it after."""
    made = []

    def start(*opts, name=None):
        name = name or "criu-" + secrets.token_hex(3)
        cid = podman(runtime, "run", "-d", "--name", name, "--network", "none", *opts, IMG,
                     "sh", "-c", COUNTER).stdout.strip()
        made.append(cid)
        assert podman(runtime, "inspect", "-f", "{{.OCIRuntime}}", cid).stdout.strip() == \
            RUNTIMES[runtime]
        wait_count(podman, runtime, cid, 3)
        return cid

    yield start
    for cid in made:
        podman(runtime, "rm", "-f", "-t", "0", cid, check=False)
    for cid in made:
        deadline = time.monotonic() + 10
        while leftovers(runtime, cid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert leftovers(runtime, cid) == [], f"{cid} left behind"


def counts(podman, runtime, cid):
    out = podman(runtime, "logs", cid).stdout
    return [int(x) for x in re.findall(r"^\s*(\d+)\s*$", out, re.M)]


def wait_count(podman, runtime, cid, above, timeout=120):
    """Wait until the counter printed more than ABOVE numbers; its numbers."""
    deadline = time.monotonic() + timeout
    while True:
        got = counts(podman, runtime, cid)
        if len(got) > above:
            return got
        assert time.monotonic() < deadline, f"counter stuck at {got[-3:]}"
        time.sleep(0.5)


def assert_unbroken(got):
    """One run of the counter from 0: no restart, nothing lost, nothing twice."""
    assert got and got[0] == 0, f"does not start at 0: {got[:5]}"
    assert got == list(range(len(got))), f"the sequence breaks: {got}"


def state(podman, runtime, cid):
    return json.loads(podman(runtime, "inspect", "-f", "{{json .State}}", cid).stdout)


@both
def test_checkpoint_restore_continues(podman, runtime, counter):
    cid = counter()
    podman(runtime, "container", "checkpoint", cid)
    st = state(podman, runtime, cid)
    assert st["Status"] == "exited" and st.get("Checkpointed", True), st
    before = counts(podman, runtime, cid)
    time.sleep(1)
    assert counts(podman, runtime, cid) == before, "counting while checkpointed"
    assert leftovers(runtime, cid) == [], "the checkpointed container is still there"
    podman(runtime, "container", "restore", cid)
    assert state(podman, runtime, cid)["Status"] == "running"
    got = wait_count(podman, runtime, cid, len(before) + 3)
    assert_unbroken(got)


@both
def test_checkpoint_restore_with_terminal(podman, runtime, counter):
    cid = counter("-t")
    podman(runtime, "container", "checkpoint", cid)
    before = counts(podman, runtime, cid)
    podman(runtime, "container", "restore", cid)
    got = wait_count(podman, runtime, cid, len(before) + 3)
    assert_unbroken(got)
    # the restored process still has its terminal
    out = podman(runtime, "exec", cid, "readlink", "/proc/1/fd/1").stdout.strip()
    assert out.startswith("/dev/pts/"), out


@both
def test_checkpoint_leave_running(podman, runtime, counter):
    cid = counter()
    podman(runtime, "container", "checkpoint", "--leave-running", cid)
    st = state(podman, runtime, cid)
    assert st["Status"] == "running", st
    before = counts(podman, runtime, cid)
    got = wait_count(podman, runtime, cid, len(before) + 3)
    assert_unbroken(got)
    images = pathlib.Path(podman(runtime, "inspect", "-f", "{{.StaticDir}}", cid).stdout.strip())
    assert (images / "checkpoint" / "inventory.img").is_file()


@both
def test_export_rm_import(podman, runtime, counter):
    name = "criu-exp-" + secrets.token_hex(3)
    cid = counter(name=name)
    archive = podman.work / f"{name}.tar.gz"
    try:
        podman(runtime, "container", "checkpoint", "--export", archive, cid)
        assert archive.stat().st_size > 0
        before = podman(runtime, "logs", cid).stdout
        podman(runtime, "rm", cid)
        assert leftovers(runtime, cid) == []
        out = podman(runtime, "container", "restore", "--import", archive).stdout.strip()
        assert out == cid, f"restore --import printed {out!r}, want {cid}"
        assert state(podman, runtime, cid)["Status"] == "running"
        assert podman(runtime, "inspect", "-f", "{{.OCIRuntime}}", cid).stdout.strip() == \
            RUNTIMES[runtime]
        n = len(re.findall(r"^\s*\d+\s*$", before, re.M))
        got = wait_count(podman, runtime, cid, n + 3)
        assert_unbroken(got)
    finally:
        archive.unlink(missing_ok=True)


@both
def test_import_of_a_missing_archive(podman, runtime):
    missing = podman.work / "no-such-checkpoint.tar.gz"
    before = podman(runtime, "ps", "-aq").stdout
    r = podman(runtime, "container", "restore", "--import", missing, check=False)
    assert r.returncode != 0
    assert "no such file or directory" in r.stderr and str(missing) in r.stderr, r.stderr
    assert podman(runtime, "ps", "-aq").stdout == before


@both
def test_restore_from_broken_images(podman, runtime, counter):
    cid = counter()
    podman(runtime, "container", "checkpoint", cid)
    static = pathlib.Path(podman(runtime, "inspect", "-f", "{{.StaticDir}}", cid).stdout.strip())
    # images CRIU cannot restore: the runtime fails, podman says so
    pages = list((static / "checkpoint").glob("pages-*.img"))
    assert pages, "no page images in the checkpoint"
    for p in pages:
        p.unlink()
    r = podman(runtime, "container", "restore", cid, check=False)
    print(f"{runtime}, pages removed: exit {r.returncode}: {r.stderr}")
    assert r.returncode != 0, r.stdout
    assert state(podman, runtime, cid)["Status"] != "running"
    assert leftovers(runtime, cid) == []
    # no images at all: podman's own check, before the runtime
    shutil.rmtree(static / "checkpoint")
    r = podman(runtime, "container", "restore", cid, check=False)
    print(f"{runtime}, images removed: exit {r.returncode}: {r.stderr}")
    assert r.returncode != 0 and "checkpoint" in r.stderr, r.stderr
    assert state(podman, runtime, cid)["Status"] != "running"
    assert leftovers(runtime, cid) == []


# -- berth restore directly: a bundle whose rootfs is gone


def make_bundle(d, rootfs):
    """A bundle in D of a copy of ROOTFS whose process counts into /count."""
    (d / "bundle").mkdir()
    run("cp", "-a", rootfs, d / "bundle" / "rootfs")
    run(BERTH, "spec", "-b", d / "bundle")
    cfg = json.loads((d / "bundle" / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["sh", "-c", COUNTER.replace("echo $i", "echo $i >/count")]
    cfg["root"] = {"path": "rootfs", "readonly": False}
    (d / "bundle" / "config.json").write_text(json.dumps(cfg))
    return d / "bundle"


class Pipes:
    """stdin and stdout/stderr pipes for a container's init, as an engine gives them:
    CRIU dumps a pipe to the host, not a host file it could not open again."""

    def __init__(self):
        self.inr, self.inw = os.pipe()
        self.outr, self.outw = os.pipe()

    def stdio(self):
        return {"stdin": self.inr, "stdout": self.outw, "stderr": self.outw}

    def close(self):
        for fd in (self.inr, self.inw, self.outr, self.outw):
            os.close(fd)


@both
def test_restore_when_rootfs_is_gone(work, runtime):
    rt = RUNTIMES[runtime]
    d = pathlib.Path(tempfile.mkdtemp(prefix="berth-criu-rootfs-"))
    cid = "criu-gone-" + secrets.token_hex(3)
    root = d / "state"
    pipes = Pipes()
    try:
        bundle = make_bundle(d, work / "rootfs")
        subprocess.run([rt, "--root", root, "create", "-b", bundle, cid], check=True,
                       timeout=SLOW, **pipes.stdio())
        run(rt, "--root", root, "start", cid)
        deadline = time.monotonic() + 60
        while not (bundle / "rootfs" / "count").exists():
            assert time.monotonic() < deadline, "the counter never wrote"
            time.sleep(0.2)
        run(rt, "--root", root, "checkpoint", "--image-path", d / "images", "--work-path",
            d / "work", cid)
        # berth keeps a checkpointed container as stopped (runc removes it): what
        # podman does after a checkpoint
        run(rt, "--root", root, "delete", "-f", cid, check=False)
        shutil.rmtree(bundle / "rootfs")
        with open(d / "err", "w+") as err:
            r = subprocess.run([rt, "--root", root, "restore", "-d", "-b", bundle,
                                "--image-path", d / "images", "--work-path", d / "work", cid],
                               stdin=pipes.inr, stdout=pipes.outw, stderr=err, timeout=SLOW)
            err.seek(0)
            msg = err.read()
        print(f"{runtime} restore: exit {r.returncode}: {msg}")
        assert r.returncode != 0
        if runtime == "berth":
            lines = msg.strip().splitlines()
            assert len(lines) == 1 and "rootfs" in lines[0], msg
        st = run(rt, "--root", root, "state", cid, check=False)
        assert st.returncode != 0, f"state after a failed restore: {st.stdout}"
        assert leftovers(runtime, cid, root) == []
    finally:
        run(rt, "--root", root, "delete", "-f", cid, check=False)
        pipes.close()
        shutil.rmtree(d, ignore_errors=True)
