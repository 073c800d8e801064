# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth as an ordinary user (issue 13): a user made by the test, with its own
/etc/subuid and /etc/subgid ranges, runs `berth spec --rootless` bundles; what the
container reads of its ids, what the host sees of its files, the commands around
it, and the clear errors of what a user may not do. runc does the same scenario in
the same test where it is installed."""

import json
import os
import pathlib
import pwd
import random
import shutil
import subprocess
import tempfile

import pytest

from conftest import BERTH, MARK, RUNC, TOKEN, Result

pytestmark = pytest.mark.skipif(shutil.which("useradd") is None, reason="no useradd")


def _free_base(files=("/etc/subuid", "/etc/subgid")):
    """A 65536-id range that no line of /etc/subuid or /etc/subgid overlaps."""
    used = []
    for f in files:
        if os.path.exists(f):
            for line in pathlib.Path(f).read_text().splitlines():
                parts = line.split(":")
                if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                    used.append((int(parts[1]), int(parts[1]) + int(parts[2])))
    while True:
        base = random.randrange(1000, 60000) * 65536
        if all(base + 65536 <= a or base >= b for a, b in used):
            return base


class User:
    """An ordinary user for one test: its name, ids, subordinate range, a bundle
    it owns (with a busybox rootfs) and a runtime dir (XDG_RUNTIME_DIR)."""

    def __init__(self, env):
        self.env = env
        self.name = f"{TOKEN}r{env.idx}"[:31]
        subprocess.run(["useradd", "-M", "-N", "-s", "/bin/false", self.name], check=True,
                       capture_output=True)
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.sub = _free_base()
        top = self.sub + 65535
        subprocess.run(["usermod", "--add-subuids", f"{self.sub}-{top}",
                        "--add-subgids", f"{self.sub}-{top}", self.name], check=True,
                       capture_output=True)
        self.berth = BERTH
        if not _reachable(BERTH):
            # a checkout under a private directory: a copy the user can run
            (env.dir / "bin").mkdir()
            self.berth = str(env.dir / "bin" / "berth")
            shutil.copy2(BERTH, self.berth)
        self.xdg = env.dir / "xdg"
        self.xdg.mkdir(mode=0o700)
        os.chown(self.xdg, self.uid, self.gid)
        os.chown(env.dir, self.uid, self.gid)
        os.chmod(env.dir, 0o755)
        subprocess.run(["chown", "-R", f"{self.uid}:{self.gid}", str(env.bundle)], check=True)
        cp = self.run(["spec", "--rootless", "-b", str(env.bundle)])
        assert cp.rc == 0, cp
        self.cfg = json.loads((env.bundle / "config.json").read_text())
        self.cfg["process"]["terminal"] = False
        self.cfg["process"]["env"].append(f"{MARK}={env.mark}")
        self.cfg["root"]["readonly"] = False

    def save(self, args=None):
        if args is not None:
            self.cfg["process"]["args"] = list(args)
        p = self.env.bundle / "config.json"
        p.write_text(json.dumps(self.cfg, indent=1))
        os.chown(p, self.uid, self.gid)

    def map_range(self):
        """The user's own id as 0 and its subordinate range as 1..65536."""
        for k, own in (("uidMappings", self.uid), ("gidMappings", self.gid)):
            self.cfg["linux"][k] = [{"containerID": 0, "hostID": own, "size": 1},
                                    {"containerID": 1, "hostID": self.sub, "size": 65536}]

    def run(self, args, binary=None, xdg=True, timeout=30, cgroup=None, extra_env=None):
        """Run berth (or binary) as the user, in the bundle, stdin from /dev/null;
        cgroup: a cgroup2 directory to start in (root moves the process there first)."""
        e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", MARK: self.env.mark,
             "HOME": str(self.env.dir), **(extra_env or {})}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        if xdg:
            e["XDG_RUNTIME_DIR"] = str(self.xdg)
        argv = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                "--", binary or self.berth] + [str(a) for a in args]
        if cgroup:
            argv = ["sh", "-c", 'echo 0 >"$0/cgroup.procs" && exec "$@"', str(cgroup)] + argv
        with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
            cp = subprocess.run(argv, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                text=True, timeout=timeout, env=e, cwd=self.env.bundle)
            fo.seek(0)
            fe.seek(0)
            return Result(argv, cp.returncode, fo.read(), fe.read())

    def runc(self, args, id):
        """`runc run` of the same bundle as the user (None without runc); deleted after.
        args, when given, become process.args."""
        if not RUNC:
            return None
        if args is not None:
            self.save(args)
        root = self.xdg / "runc"
        try:
            return self.run(["--root", root, "run", id], binary=RUNC)
        finally:
            self.run(["--root", root, "delete", "--force", id], binary=RUNC)

    def ids(self):
        r = self.run(["list", "-q"])
        assert r.rc == 0, r
        return r.out.split()

    def remove(self):
        for cid in self.ids():
            self.run(["delete", "--force", cid])
        subprocess.run(["userdel", "-f", self.name], capture_output=True)
        for f in ("/etc/subuid", "/etc/subgid"):
            lines = pathlib.Path(f).read_text().splitlines(keepends=True)
            assert not any(l.startswith(self.name + ":") for l in lines), f"{f} keeps {self.name}"


def _reachable(path):
    """Can any user execute path (every directory on the way searchable)?"""
    p = pathlib.Path(path)
    return all((q.stat().st_mode & 0o001) for q in [p] + list(p.parents))


@pytest.fixture
def user(env):
    u = User(env)
    yield u
    u.remove()


def test_spec_rootless_runs_as_user(user):
    """The --rootless spec as it is: the container is root in a user namespace that maps
    the user's own id only, setgroups denied; state goes to $XDG_RUNTIME_DIR/berth; no
    cgroup was made (the user may write none here)."""
    script = "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u; ls /"
    user.save(["sh", "-c", script])
    cid = user.env.new_id()
    r = user.run(["run", cid])
    assert r.rc == 0, r
    lines = r.out.split("\n")
    assert lines[0].split() == ["0", str(user.uid), "1"], r.out
    assert lines[1].split() == ["0", str(user.gid), "1"], r.out
    assert lines[2] == "deny" and lines[3] == "0", r.out
    assert not (user.xdg / "berth" / cid).exists()
    assert (user.xdg / "berth").is_dir() and (user.xdg / "berth").stat().st_uid == user.uid
    rc = user.runc(["sh", "-c", script], cid + "-runc")
    if rc is not None:
        assert rc.rc == 0, rc
        assert rc.out.split("\n")[:4] == lines[:4], (rc.out, r.out)


def test_subordinate_ranges_through_newuidmap(user):
    """Several ranges go through newuidmap/newgidmap: the container sees both lines, and
    a file its uid 1000 makes belongs on the host to the user's subordinate id 999+base."""
    if not shutil.which("newuidmap"):
        pytest.fail("newuidmap missing (Debian package uidmap; tests/run installs it)")
    user.map_range()
    user.cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
    user.save(["sh", "-c", "cat /proc/self/uid_map; touch /tmp/by-1000"])
    r = user.run(["run", user.env.new_id()])
    assert r.rc == 0, r
    assert [l.split() for l in r.out.strip().split("\n")] == [
        ["0", str(user.uid), "1"], ["1", str(user.sub), "65536"]], r.out
    st = (user.env.rootfs / "tmp" / "by-1000").stat()
    assert (st.st_uid, st.st_gid) == (user.sub + 999, user.sub + 999)
    (user.env.rootfs / "tmp" / "by-1000").unlink()
    rc = user.runc(["sh", "-c", "cat /proc/self/uid_map"], user.env.new_id() + "-runc")
    if rc is not None:
        assert rc.rc == 0, rc


def test_mapping_not_granted_fails_clearly(user):
    """A range /etc/subuid does not give the user: one line naming newuidmap's refusal,
    nothing left behind."""
    user.map_range()
    user.cfg["linux"]["uidMappings"][1]["hostID"] = user.sub + 65536 * 3
    user.save(["true"])
    cid = user.env.new_id()
    r = user.run(["run", cid])
    assert r.rc != 0
    assert r.err.startswith(f'berth: create "{cid}": newuidmap refused the mapping: '), r
    assert len(r.err.strip().split("\n")) == 1, r
    assert user.ids() == []


def test_lifecycle_without_cgroup(user):
    """create, start, state, list, ps, exec, kill --all, delete as the user, with no
    cgroup: ps and kill --all act on the container's pid namespace; pause says why it
    cannot."""
    user.save(["sh", "-c", "sleep 300 & exec sleep 301"])
    cid = user.env.new_id()
    assert user.run(["create", cid]).rc == 0
    assert user.run(["start", cid]).rc == 0
    st = json.loads(user.run(["state", cid]).out)
    assert st["status"] == "running" and st["pid"] > 0
    assert user.ids() == [cid]
    r = user.run(["ps", "--format", "json", cid])
    assert r.rc == 0, r
    pids = json.loads(r.out)
    assert st["pid"] in pids and len(pids) == 2, pids
    r = user.run(["exec", cid, "sh", "-c", "cat /proc/self/uid_map; readlink /proc/1/exe"])
    assert r.rc == 0, r
    assert r.out.split()[:3] == ["0", str(user.uid), "1"], r.out
    r = user.run(["pause", cid])
    assert r.rc != 0 and "has no cgroup" in r.err, r
    r = user.run(["kill", "--all", cid, "KILL"])
    assert r.rc == 0, r
    for p in pids:
        for _ in range(100):
            if not os.path.exists(f"/proc/{p}") or "Z" in open(f"/proc/{p}/stat").read().split()[2]:
                break
            import time
            time.sleep(0.05)
        else:
            pytest.fail(f"pid {p} still alive after kill --all")
    assert user.run(["delete", cid]).rc == 0
    assert user.ids() == []


def test_no_state_root_without_xdg(user):
    user.save(["true"])
    r = user.run(["run", user.env.new_id()], xdg=False)
    assert r.rc != 0
    assert "no state root: XDG_RUNTIME_DIR is not set (not root: give --root DIR)" in r.err, r
    r = user.run(["list"], xdg=False)
    assert r.rc != 0 and "XDG_RUNTIME_DIR" in r.err, r


def test_limit_without_cgroup_fails_clearly(user):
    """A memory limit cannot be kept without a cgroup the user may write: refused,
    naming the setting, nothing left."""
    user.cfg["linux"].setdefault("resources", {})["memory"] = {"limit": 64 << 20}
    user.save(["true"])
    cid = user.env.new_id()
    r = user.run(["run", cid])
    assert r.rc != 0
    assert f'create "{cid}": config.json: linux.resources.memory: rootless without a ' \
        "cgroup it may write, the limit cannot be kept" in r.err, r
    assert user.ids() == []


@pytest.mark.parametrize("what", ["rlimit", "net", "sysctl"])
def test_privileged_settings_fail_clearly(user, what):
    """What only root may do fails in one line naming the setting, and leaves nothing."""
    c = user.cfg
    if what == "rlimit":
        hard = subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True,
                              text=True).stdout.strip()
        if hard == "unlimited":
            pytest.skip("no hard nofile limit to exceed")
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": int(hard) + 1,
                                    "soft": int(hard) + 1}]
        want = "setrlimit RLIMIT_NOFILE"
    elif what == "net":
        c["linux"]["namespaces"].append({"type": "network"})
        c.setdefault("annotations", {}).update(
            {"berth.net.bridge": f"{TOKEN}rl", "berth.net.subnet": "10.231.7.0/24"})
        want = 'config.json: annotations["berth.net.bridge"]: needs root'
    else:
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
        want = 'config.json: linux.sysctl: "net.ipv4.ip_forward" requires a network namespace'
    user.save(["true"])
    cid = user.env.new_id()
    r = user.run(["run", cid])
    assert r.rc != 0
    assert r.err.startswith(f'berth: create "{cid}": ') and want in r.err, r
    assert len(r.err.strip().split("\n")) == 1, r
    assert user.ids() == []


def test_locked_mount_flags_are_kept(user):
    """A bind of a host mount that is nosuid, nodev and noexec: the kernel locks those
    flags in the user namespace, so asking for suid, dev and exec keeps them rather than
    failing (as runc does since 1.1.13)."""
    src = user.env.dir / "locked"
    src.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "nosuid,nodev,noexec,size=1m", "tmpfs",
                    str(src)], check=True)
    try:
        user.cfg["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(src),
                                   "options": ["rbind", "ro", "exec", "suid", "dev"]})
        user.save(["sh", "-c", "grep ' /mnt ' /proc/self/mounts"])
        r = user.run(["run", user.env.new_id()])
        assert r.rc == 0, r
        opts = r.out.split()[3].split(",")
        assert {"ro", "nosuid", "nodev", "noexec"} <= set(opts), r.out
        # (Debian's runc 1.1.5 fails this mount with EPERM; runc 1.1.13 keeps the flags)
    finally:
        subprocess.run(["umount", str(src)], check=True)


def test_delegated_cgroup_v2(user):
    """A cgroup v2 subtree delegated to the user (what systemd's Delegate= gives): berth
    makes the container's cgroup there, applies the limits and deletes it after; the
    device rules, which only root may set, are left out."""
    if subprocess.run(["stat", "-fc", "%T", "/sys/fs/cgroup"], capture_output=True,
                      text=True).stdout.strip() != "cgroup2fs":
        pytest.skip("needs a cgroup v2 host (tests/vm runs it)")
    top = pathlib.Path("/sys/fs/cgroup")
    deleg = top / f"{TOKEN}-deleg-{user.env.idx}"
    deleg.mkdir()
    try:
        launcher = deleg / "launcher"
        launcher.mkdir()
        for p in [deleg, launcher] + [d / f for d in (deleg, launcher)
                                      for f in ("cgroup.procs", "cgroup.subtree_control",
                                                "cgroup.threads")]:
            os.chown(p, user.uid, user.gid)
        user.cfg["linux"]["cgroupsPath"] = f"/{deleg.name}/c1"
        user.cfg["linux"]["resources"] = {"memory": {"limit": 64 << 20},
                                          "pids": {"limit": 50}}
        user.save(["sleep", "300"])
        cid = user.env.new_id()
        r = user.run(["create", cid], cgroup=launcher)
        assert r.rc == 0, r
        st = json.loads(user.run(["state", cid]).out)
        c1 = deleg / "c1"
        assert (c1 / "memory.max").read_text().strip() == str(64 << 20)
        assert (c1 / "pids.max").read_text().strip() == "50"
        assert str(st["pid"]) in (c1 / "cgroup.procs").read_text().split()
        r = user.run(["ps", "--format", "json", cid])
        assert r.rc == 0 and json.loads(r.out) == [st["pid"]], r
        assert user.run(["delete", "--force", cid]).rc == 0
        assert not c1.exists()
    finally:
        for d in (deleg / "c1", deleg / "launcher", deleg):
            if d.exists():
                for pid in (d / "cgroup.procs").read_text().split():
                    (top / "cgroup.procs").write_text(pid)
                d.rmdir()


def test_uid0_of_a_user_namespace_keeps_state_in_xdg(user):
    """Rootless podman runs its runtime, without --root, as uid 0 of a user namespace it
    made for the user: berth is rootless there too and keeps its state in
    $XDG_RUNTIME_DIR/berth, where the user sees it from outside that namespace (not in
    /run/berth, which the user may not write)."""
    if not shutil.which("unshare"):
        pytest.fail("unshare missing (util-linux)")
    user.cfg["linux"].pop("uidMappings", None)
    user.cfg["linux"].pop("gidMappings", None)
    user.cfg["linux"]["namespaces"] = [n for n in user.cfg["linux"]["namespaces"]
                                       if n["type"] != "user"]
    user.save(["sleep", "300"])
    as_root = ["--user", "--map-root-user", BERTH]
    cid = user.env.new_id()
    r = user.run(as_root + ["create", cid], binary="unshare")
    assert r.rc == 0, r
    assert user.ids() == [cid]
    assert (user.xdg / "berth" / cid).is_dir()
    r = user.run(as_root + ["state", cid], binary="unshare")
    assert r.rc == 0 and json.loads(r.out)["status"] == "created", r
    r = user.run(as_root + ["delete", "--force", cid], binary="unshare")
    assert r.rc == 0, r
    assert user.ids() == []


# ---- --systemd-cgroup rootless: the user's bus (the user's systemd in tests/vm) ----


def test_systemd_cgroup_without_a_user_bus_is_one_clear_line(user):
    """Rootless, the scope is asked of the user's systemd, on the user's bus
    ($DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus), never the system bus: with
    no bus there, one line naming where berth looked, nothing left."""
    user.save(["true"])
    cid = user.env.new_id()
    missing = user.env.dir / "no-bus.sock"
    for env, shown in (({}, user.xdg / "bus"),
                       ({"DBUS_SESSION_BUS_ADDRESS": f"unix:path={missing}"}, missing),
                       ({"DBUS_SESSION_BUS_ADDRESS": "unix:abstract=/tmp/dbus-x"},
                        user.xdg / "bus")):
        r = user.run(["--systemd-cgroup", "run", cid], extra_env=env)
        assert r.rc == 1, r
        assert r.err.splitlines() == [
            f'berth: create "{cid}": --systemd-cgroup: connect to the user bus at "{shown}": '
            "No such file or directory (is the user's systemd running? loginctl "
            "enable-linger)"], r
        assert user.ids() == []


@pytest.mark.parametrize("in_userns", [False, True])
def test_systemd_cgroup_authenticates_as_the_host_uid(user, in_userns):
    """A fake user bus: berth says it is the user's uid in SASL EXTERNAL, also as uid 0
    of a user namespace (rootless podman's runtime), where the bus, which sees the
    peer's host uid, would refuse "0"."""
    from test_systemd import _fake_bus
    if in_userns and not shutil.which("unshare"):
        pytest.fail("unshare missing (util-linux)")
    user.cfg["linux"].pop("uidMappings", None)
    user.cfg["linux"].pop("gidMappings", None)
    user.cfg["linux"]["namespaces"] = [n for n in user.cfg["linux"]["namespaces"]
                                       if n["type"] != "user"]
    user.save(["true"])
    path = str(user.xdg / "bus")
    seen = []
    srv, t = _fake_bus(path, None, seen)
    os.chmod(path, 0o666)
    try:
        cid = user.env.new_id()
        argv = ["--systemd-cgroup", "run", cid]
        if in_userns:
            r = user.run(["--user", "--map-root-user", user.berth] + argv, binary="unshare")
        else:
            r = user.run(argv)
        t.join(10)
    finally:
        srv.close()
        os.unlink(path)
    assert seen, r
    assert seen[0] == b"\0AUTH EXTERNAL " + str(user.uid).encode().hex().encode() + b"\r\n", seen
    # past Hello, berth asks where the user's systemd has its tree; the fake bus hangs
    # up instead: one line, nothing left
    assert r.rc == 1 and len(r.err.splitlines()) == 1, r
    assert r.err.startswith(f'berth: create "{cid}": systemd: the user manager\'s '
                            "ControlGroup: read the reply: "), r
    assert user.ids() == []
