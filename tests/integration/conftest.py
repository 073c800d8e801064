# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for berth's integration tests.

Every test gets its own state root (--root) and bundle under one session
directory in /tmp, a copy of a busybox rootfs built once per session and a
config.json made by `berth spec`. Every process the tests start (berth and,
through process.env, the container's) carries BERTH_TEST_MARK=<token>:<test>
so that leftovers can be found. After each test, containers still present are
force-deleted and the test fails if anything leaked: state dirs, mounts,
cgroups, processes, network leases, host ends of veths, interfaces named after
the session (its bridges) and rules in berth's nftables table that name them.
test_zz_leaks.py repeats the check for the whole session.
"""

import copy
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
TOKEN = os.environ.get("BERTH_TEST_TOKEN") or "bt" + secrets.token_hex(3)
MARK = "BERTH_TEST_MARK"
BASE = pathlib.Path(os.environ.get("BERTH_TEST_TMP", "/tmp")) / f"berth-it-{TOKEN}"
MKROOTFS = REPO / "tests" / "lib" / "mkrootfs.sh"
RUNC = shutil.which("runc")  # tests compare berth with runc where it is installed


def _sanitized(path):
    """Whether berth was built with -Db_sanitize=address (tests/run's second build)."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


SANITIZED = _sanitized(BERTH)

_test_counter = [0]


# ---------------------------------------------------------------------------
# leak detection


def mounts_under(path):
    """Mount points in our mount namespace that mention path."""
    p = str(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            # fields[3] is the root inside the fs, fields[4] the mount point
            if fields[4].startswith(p) or p in fields[3]:
                found.append(line.strip())
    return found


def _ancestors():
    pids = set()
    pid = os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
    return pids


def marked_processes(mark_prefix, path=None):
    """Live processes carrying our marker (or whose cwd/root/cmdline is under path)."""
    skip = _ancestors()
    needle = f"{MARK}={mark_prefix}".encode()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in skip:
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                continue
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        hit = any(e.startswith(needle) for e in env)
        if not hit and path is not None:
            p = str(path)
            hit = p in cmd
            for link in ("cwd", "root"):
                try:
                    if os.readlink(f"/proc/{d}/{link}").startswith(p):
                        hit = True
                except OSError:
                    pass
        if hit:
            found.append(f"{d}: {cmd}")
    return found


def cgroups_matching(needle):
    """cgroup directories whose name contains needle (v2 unified and v1 hierarchies)."""
    found = []
    roots = ["/sys/fs/cgroup"]
    for top in roots:
        base_depth = top.count("/")
        for dirpath, dirnames, _ in os.walk(top):
            depth = dirpath.count("/") - base_depth
            if depth >= 5:
                dirnames[:] = []
                continue
            for d in dirnames:
                if needle in d:
                    found.append(os.path.join(dirpath, d))
    return found


def berth_cgroups():
    return set(cgroups_matching("berth"))


def state_dirs(root):
    root = pathlib.Path(root)
    if not root.exists():
        return []
    # dot-dirs are berth's own caches (e.g. .seccomp-cache), never containers
    return sorted(str(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def host_end(root, id):
    """The name berth gives the host end of a container's veth (net.c: host_if_name)."""
    h = 0xcbf29ce484222325
    for b in str(root).encode() + b"/" + id.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return f"bv{h & 0xffffffffffff:012x}"


def links():
    cp = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True)
    return [l.split(":", 2)[1].strip().split("@")[0] for l in cp.stdout.splitlines()
            if l.count(":") >= 2]


def network_leaks(needles, lease_roots=()):
    """Lease lines left in <root>/.net/*.leases, interfaces named by a needle, and rules of
    nftables table ip berth that mention one (bridges carry the session's token in their
    name, containers in their id; NAT and port rules name the bridge or the container)."""
    out = []
    for r in lease_roots:
        d = pathlib.Path(r) / ".net"
        if d.is_dir():
            for f in sorted(d.glob("*.leases")):
                out += [f"lease: {f}: {l}" for l in f.read_text().splitlines() if l.strip()]
    out += [f"interface: {l}" for l in links() if any(n in l for n in needles)]
    if shutil.which("nft"):
        cp = subprocess.run(["nft", "list", "table", "ip", "berth"], capture_output=True,
                            text=True)
        out += [f"nftables rule: {l.strip()}" for l in cp.stdout.splitlines()
                if any(n in l for n in needles)]
    return out


def leaks(mark_prefix, path, roots=(), cg_needle=None, net_needles=()):
    """Everything left behind, as a list of human-readable lines."""
    out = []
    out += [f"mount: {m}" for m in mounts_under(path)]
    out += [f"process: {p}" for p in marked_processes(mark_prefix, path)]
    if cg_needle:
        out += [f"cgroup: {c}" for c in cgroups_matching(cg_needle)]
    for r in roots:
        out += [f"state dir: {s}" for s in state_dirs(r)]
    out += network_leaks(net_needles, roots)
    return out


def wait_no_leaks(mark_prefix, path, roots=(), cg_needle=None, net_needles=(), timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        found = leaks(mark_prefix, path, roots, cg_needle, net_needles)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def safe_rmtree(path):
    """rmtree that refuses to descend into mount points (a leaked bind could reach the host)."""
    if mounts_under(path):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True


# ---------------------------------------------------------------------------
# running berth


# A report of ASan, LeakSanitizer or UBSan (the sanitizer build of tests/run) on stderr
SANITIZER_REPORT = re.compile(r"^==\d+==ERROR: \w+Sanitizer|^SUMMARY: \w+Sanitizer|"
                              r"^\S+:\d+:\d+: runtime error: ", re.M)


class Result:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err
        # fails even a test that expects the command to fail
        assert not SANITIZER_REPORT.search(err), f"sanitizer report: {self!r}"

    @property
    def err_lines(self):
        return [l for l in self.err.splitlines() if l.strip()]

    def __repr__(self):
        return (f"<{' '.join(self.argv)}: rc={self.rc}\n--- stdout\n{self.out}"
                f"--- stderr\n{self.err}>")


class Background:
    def __init__(self, argv, dir_, mark):
        self.argv = argv
        self.fo = tempfile.TemporaryFile("w+")
        self.fe = tempfile.TemporaryFile("w+")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.fo, stderr=self.fe,
                                  text=True, env=_env(mark))
        self.pid = self.p.pid

    def send_signal(self, sig):
        self.p.send_signal(sig)

    def poll(self):
        return self.p.poll()

    def kill(self):
        self.p.kill()

    def wait(self, timeout=20):
        rc = self.p.wait(timeout=timeout)
        self.fo.seek(0)
        self.fe.seek(0)
        r = Result(self.argv, rc, self.fo.read(), self.fe.read())
        self.fo.close()
        self.fe.close()
        return r


def _env(mark):
    e = dict(os.environ)
    e[MARK] = mark
    return e


def traced_env(mark):
    """_env for a berth run under strace. In the sanitizer build (tests/run) LeakSanitizer
    is off there, as it cannot work under ptrace; ASan and UBSan still check."""
    e = _env(mark)
    if "ASAN_OPTIONS" in e:
        e["ASAN_OPTIONS"] += ":detect_leaks=0"
    return e


class Env:
    """One test's world: a state root, a bundle with a busybox rootfs, a config dict."""

    def __init__(self, dir_, idx, spec, rootfs_template):
        self.idx = idx
        self.mark = f"{TOKEN}:{idx}:"
        self.dir = pathlib.Path(dir_)
        self.root = self.dir / "state"
        self.bundle = self.dir / "bundle"
        self.rootfs = self.bundle / "rootfs"
        self.bundle.mkdir(parents=True)
        subprocess.run(["cp", "-a", str(rootfs_template), str(self.rootfs)], check=True)
        self.cfg = copy.deepcopy(spec)
        p = self.cfg.setdefault("process", {})
        p["terminal"] = False
        p["args"] = ["true"]
        p["env"] = [e for e in p.get("env", []) if not e.startswith(MARK + "=")]
        p["env"].append(f"{MARK}={self.mark}")
        self.cfg["root"] = {"path": "rootfs", "readonly": False}
        self._n = 0
        self.popens = []
        self.ids = set()  # every id given to create or run, for the leak check

    # -- config helpers
    def save(self):
        with open(self.bundle / "config.json", "w") as f:
            json.dump(self.cfg, f, indent=1)

    @property
    def process(self):
        return self.cfg["process"]

    @property
    def linux(self):
        return self.cfg.setdefault("linux", {})

    def ns_types(self):
        return [n["type"] for n in self.linux.get("namespaces", [])]

    def remove_ns(self, t):
        self.linux["namespaces"] = [n for n in self.linux.get("namespaces", []) if n["type"] != t]

    def set_ns(self, t, path=None):
        self.remove_ns(t)
        n = {"type": t}
        if path:
            n["path"] = path
        self.linux.setdefault("namespaces", []).append(n)

    def add_mount(self, destination, type_=None, source=None, options=None):
        m = {"destination": destination}
        if type_:
            m["type"] = type_
        if source:
            m["source"] = source
        if options is not None:
            m["options"] = options
        self.cfg.setdefault("mounts", []).append(m)

    def remove_mount(self, destination):
        self.cfg["mounts"] = [m for m in self.cfg.get("mounts", [])
                              if m["destination"] != destination]

    def add_hook(self, kind, path, args=None, env=None, timeout=None):
        h = {"path": path}
        if args is not None:
            h["args"] = args
        if env is not None:
            h["env"] = env
        if timeout is not None:
            h["timeout"] = timeout
        self.cfg.setdefault("hooks", {}).setdefault(kind, []).append(h)

    def write_rootfs(self, rel, text, mode=0o755):
        p = self.rootfs / rel.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        p.chmod(mode)
        return p

    # -- commands
    def new_id(self):
        self._n += 1
        return f"{TOKEN}-{self.idx}-{self._n}"

    def berth(self, *args, root=True, input=None, timeout=20, pass_fds=(), binary=None,
              cwd=None, check=False):
        """Run berth (or binary, e.g. runc) and wait for it. stdout/stderr go to files, not
        pipes: a created container's init inherits them and would keep pipes open. root:
        True for --root of the test's state root, a path for another one, False for none."""
        argv = [binary or BERTH]
        if args and args[0] in ("create", "run"):
            self.ids.add(str(args[-1]))
        if root:
            argv += ["--root", str(self.root if root is True else root)]
        argv += [str(a) for a in args]
        with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
            cp = subprocess.run(argv, input=input, stdout=fo, stderr=fe, text=True,
                                timeout=timeout, cwd=cwd,
                                stdin=None if input is not None else subprocess.DEVNULL,
                                pass_fds=pass_fds, env=_env(self.mark))
            fo.seek(0)
            fe.seek(0)
            r = Result(argv, cp.returncode, fo.read(), fe.read())
        if check:
            assert r.rc == 0, r
        return r

    def popen(self, *args, binary=None):
        """Start berth in the background; finish it with bg.wait()."""
        argv = [binary or BERTH, "--root", str(self.root)] + [str(a) for a in args]
        if args and args[0] in ("create", "run"):
            self.ids.add(str(args[-1]))
        bg = Background(argv, self.dir, self.mark)
        self.popens.append(bg)
        return bg

    def run(self, args=None, id=None, extra=(), save=True, **kw):
        if args is not None:
            self.process["args"] = list(args)
        if save:
            self.save()
        return self.berth("run", "-b", self.bundle, *extra, id or self.new_id(), **kw)

    def sh(self, script, **kw):
        return self.run(["sh", "-c", script], **kw)

    def runc_run(self, args=None, id=None, timeout=60):
        """`runc run` of the bundle (args, when given, become process.args) under a state
        root of its own in the test's directory, then `runc delete --force`: the
        CompletedProcess (text stdout and stderr), or None when runc is not installed."""
        if not RUNC:
            return None
        if args is not None:
            self.process["args"] = list(args)
        self.save()
        base = [RUNC, "--root", str(self.dir / "runc-state")]
        id = id or self.new_id() + "-runc"
        try:
            return subprocess.run(base + ["run", "-b", str(self.bundle), id],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=timeout, env=_env(self.mark))
        finally:
            subprocess.run(base + ["delete", "--force", id], capture_output=True,
                           timeout=timeout)

    def create(self, args=None, id=None, extra=(), check=True, **kw):
        if args is not None:
            self.process["args"] = list(args)
        self.save()
        id = id or self.new_id()
        r = self.berth("create", "-b", self.bundle, *extra, id, **kw)
        if check:
            assert r.rc == 0, r
        return id, r

    def start(self, id, check=True):
        return self.berth("start", id, check=check)

    def state(self, id):
        r = self.berth("state", id, check=True)
        return json.loads(r.out)

    def kill(self, id, *sig, all=False, check=True):
        return self.berth("kill", *(["--all"] if all else []), id, *sig, check=check)

    def delete(self, id, force=False, check=True):
        return self.berth("delete", *(["--force"] if force else []), id, check=check)

    def wait_status(self, id, status, timeout=10.0):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.state(id)
            if st["status"] == status:
                return st
            time.sleep(0.02)
        raise AssertionError(f"container {id} did not reach {status!r}: {st}")

    def container_ids(self):
        r = self.berth("list", "-q")
        ids = set(l.strip() for l in r.out.splitlines() if l.strip()) if r.rc == 0 else set()
        if self.root.exists():
            ids |= set(p.name for p in self.root.iterdir()
                       if p.is_dir() and not p.name.startswith("."))
        return sorted(ids)


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def berth_bin():
    if not os.access(BERTH, os.X_OK):
        pytest.fail(f"berth binary not found at {BERTH} (set BERTH=...)")
    return BERTH


@pytest.fixture(scope="session")
def session_dir():
    BASE.mkdir(parents=True, exist_ok=True)
    yield BASE
    if not leaks(TOKEN + ":", BASE, cg_needle=TOKEN):
        safe_rmtree(BASE)


def busybox_tree(r):
    """A busybox tree at r made without a process per applet (every exec is slow
    under TCG, where tests/lib/mkrootfs.sh takes ~20 s): the VM tests' rootfs."""
    for sub in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "etc", "root"):
        (r / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2("/bin/busybox", r / "bin" / "busybox")
    applets = subprocess.run(["/bin/busybox", "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if not (r / a).exists() and not a.endswith("/busybox"):
            os.symlink("/bin/busybox", r / a)
    (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (r / "etc" / "group").write_text("root:x:0:\n")
    return r


@pytest.fixture(scope="session")
def rootfs_template(session_dir):
    d = session_dir / "rootfs-template"
    subprocess.run(["bash", str(MKROOTFS), str(d)], check=True)
    return d


@pytest.fixture(scope="session")
def default_spec(session_dir, berth_bin):
    d = session_dir / "spec"
    d.mkdir()
    cp = subprocess.run([berth_bin, "spec", "-b", str(d)], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    with open(d / "config.json") as f:
        return json.load(f)


@pytest.fixture
def env(request, session_dir, rootfs_template, default_spec, berth_bin):
    _test_counter[0] += 1
    idx = _test_counter[0]
    e = Env(session_dir / f"t{idx}", idx, default_spec, rootfs_template)
    yield e
    for p in e.popens:
        if p.poll() is None:
            p.kill()
        p.p.wait(timeout=30)
    problems = []
    for cid in e.container_ids():
        r = e.berth("delete", "--force", cid)
        if r.rc != 0:
            problems.append(f"delete --force {cid} failed: {r.err.strip()}")
    ends = [host_end(e.root, i) for i in sorted(e.ids | set(e.container_ids()))]
    found = wait_no_leaks(e.mark, e.dir, roots=[e.root], cg_needle=f"{TOKEN}-{idx}-",
                          net_needles=[TOKEN] + ends)
    if not found:
        safe_rmtree(e.dir)
    problems += found
    assert not problems, "leaked after test:\n" + "\n".join(problems)


@pytest.fixture
def host_ns():
    def get(name):
        return os.readlink(f"/proc/self/ns/{name}")
    return get
