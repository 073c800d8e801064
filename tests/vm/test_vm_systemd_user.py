# SPDX-License-Identifier: LGPL-2.1-or-later
"""The systemd cgroup driver rootless: the user's systemd makes the scope.

Runs inside the VM of `tests/vm/run-in-vm.sh --init systemd` (tests/vm/run-tests.sh
starts it there, after test_vm_systemd.py); skips anywhere else. A user made for
the module, with /etc/subuid and /etc/subgid ranges and `loginctl enable-linger`,
so that user@UID.service and its bus ($XDG_RUNTIME_DIR/bus) run; removed after.

- berth --systemd-cgroup as the user, a `berth spec --rootless` bundle: the scope is
  the user manager's (`systemctl --user`), in its user.slice under
  user@UID.service; the container sees that cgroup (exec from inside the
  manager's tree and from outside it); MemoryMax and TasksMax as properties and
  in the files; update, pause; delete leaves no unit;
- from a login session (su -l, pam_systemd's scope): systemd moves the init in;
- uid 0 of a user namespace (rootless podman's runtime): the same, the bus sees the
  user's uid;
- a limit whose controller the user's systemd does not delegate: one line;
- runc --systemd-cgroup rootless beside it, as the reference.
"""

import json
import os
import pathlib
import pwd
import shutil

import pytest

# the VM's checks and helpers, and its skip outside the VM
from test_vm_systemd import pytestmark, run, run_files, wait_for  # noqa: F401

REPO = pathlib.Path(__file__).resolve().parents[2]
BERTH = os.path.abspath(os.environ.get("BERTH") or str(REPO / "build" / "berth"))
NAME = f"sduser{os.getpid()}"[:31]
CG = pathlib.Path("/sys/fs/cgroup")


class User:
    """The lingering user: runs commands with its runtime dir and bus, as systemd's
    user session gives them."""

    def __init__(self):
        run("useradd", "-m", "-s", "/bin/sh", NAME)
        pw = pwd.getpwnam(NAME)
        self.uid, self.gid, self.home = pw.pw_uid, pw.pw_gid, pathlib.Path(pw.pw_dir)
        top = 400000 + 65535
        run("usermod", "--add-subuids", f"400000-{top}", "--add-subgids", f"400000-{top}", NAME)
        self.xdg = pathlib.Path(f"/run/user/{self.uid}")
        self.service = f"user@{self.uid}.service"
        self.manager_cg = CG / f"user.slice/user-{self.uid}.slice/{self.service}"
        # berth where the user can run it (the worktree may be under a private directory)
        self.berth = self.home / "berth"
        shutil.copy2(BERTH, self.berth)
        os.chmod(self.berth, 0o755)
        run("systemctl", "start", "systemd-logind")
        run("loginctl", "enable-linger", NAME)
        wait_for(lambda: run("systemctl", "is-active", self.service, check=False).stdout.strip()
                 == "active", what=f"{self.service}")
        wait_for(lambda: (self.xdg / "bus").exists(), what="the user's bus")

    def env(self, **extra):
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.home),
                "XDG_RUNTIME_DIR": str(self.xdg),
                "DBUS_SESSION_BUS_ADDRESS": f"unix:path={self.xdg}/bus", **extra}

    def run(self, *argv, check=True, env=None):
        """argv as the user, stdio in files (a container's init may inherit them)."""
        full = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups",
                "--"] + [str(a) for a in argv]
        return run_files(full, check, env=env or self.env(), cwd=self.home)

    def show(self, unit, *props):
        out = self.run("systemctl", "--user", "show", unit, "-p", ",".join(props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def units(self, needle):
        out = self.run("systemctl", "--user", "list-units", "--all", "--no-legend",
                       "--plain").stdout
        return [line for line in out.splitlines() if needle in line]

    def remove(self):
        for root in (None, self.xdg / "runc"):
            engine = [self.berth] if root is None else ["runc", "--root", root]
            ids = self.run(*engine, "list", "-q", check=False).stdout.split()
            for cid in ids:
                self.run(*engine, "delete", "--force", cid, check=False)
        run("loginctl", "disable-linger", NAME, check=False)
        run("systemctl", "stop", self.service, check=False)
        run("userdel", "-r", "-f", NAME, check=False)
        for f in ("/etc/subuid", "/etc/subgid"):
            p = pathlib.Path(f)
            if p.exists():
                p.write_text("".join(l for l in p.read_text().splitlines(keepends=True)
                                     if not l.startswith(NAME + ":")))


@pytest.fixture(scope="module")
def user():
    if not os.access(BERTH, os.X_OK):
        pytest.fail(f"berth binary not found at {BERTH} (set BERTH=...)")
    u = User()
    yield u
    u.remove()
    assert not u.manager_cg.exists()


@pytest.fixture
def bundle(user):
    """A `berth spec --rootless` bundle the user owns, running `sh -c script`."""
    made = []

    def make(name, script="sleep 1000", resources=None, cgroups_path=None, userns=True):
        b = user.home / name
        r = b / "rootfs"
        for sub in ("bin", "proc", "sys", "dev", "tmp", "etc"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy2("/bin/busybox", r / "bin" / "busybox")
        for applet in ("sh", "cat", "sleep"):
            os.symlink("busybox", r / "bin" / applet)
        run("chown", "-R", f"{user.uid}:{user.gid}", b)
        user.run(user.berth, "spec", "--rootless", "--bundle", b)
        cfg = json.loads((b / "config.json").read_text())
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["sh", "-c", script]
        cfg["root"] = {"path": "rootfs", "readonly": False}
        # the container sees its cgroup's full path (no cgroup namespace)
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] != "cgroup" and (userns or n["type"] != "user")]
        if not userns:
            cfg["linux"].pop("uidMappings", None)
            cfg["linux"].pop("gidMappings", None)
        if resources is not None:
            cfg["linux"]["resources"] = resources
        if cgroups_path is not None:
            cfg["linux"]["cgroupsPath"] = cgroups_path
        (b / "config.json").write_text(json.dumps(cfg))
        made.append(b)
        return b

    yield make
    for b in made:
        for engine in ([user.berth], ["runc", "--root", user.xdg / "runc"]):
            user.run(*engine, "delete", "--force", b.name, check=False)
        shutil.rmtree(b, ignore_errors=True)


RESOURCES = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}


def test_user_manager_delegates_memory_pids_cpu(user):
    # what the limits below need from the user's tree (systemd 252's user@.service)
    ctrl = (user.manager_cg / "cgroup.controllers").read_text().split()
    assert {"memory", "pids", "cpu"} <= set(ctrl), ctrl


def test_rootless_scope_in_the_user_manager(user, bundle):
    name = f"{NAME}a"
    unit = f"berth-{name}.scope"
    b = bundle(name, resources=json.loads(json.dumps(RESOURCES)))
    user.run(user.berth, "--systemd-cgroup", "create", "--bundle", b, name)
    st = json.loads(user.run(user.berth, "state", name).stdout)
    # the default slice is the user manager's user.slice
    rel = f"/user.slice/user-{user.uid}.slice/{user.service}/user.slice/{unit}"
    cg = CG / rel[1:]
    assert st["pid"] > 0 and str(st["pid"]) in (cg / "cgroup.procs").read_text().split()
    p = user.show(unit, "ActiveState", "Slice", "Delegate", "MemoryMax", "TasksMax",
                  "ControlGroup")
    assert p == {"ActiveState": "active", "Slice": "user.slice", "Delegate": "yes",
                 "MemoryMax": str(64 << 20), "TasksMax": "50", "ControlGroup": rel}, p
    assert (cg / "memory.max").read_text().strip() == str(64 << 20)
    assert (cg / "pids.max").read_text().strip() == "50"

    user.run(user.berth, "start", name)
    # the container's own view of its cgroup (exec from inside the user manager's
    # tree, as under rootless podman: berth may put the process there itself)
    r = user.run("systemd-run", "--user", "--scope", "--quiet", user.berth, "exec", name,
                 "cat", "/proc/self/cgroup")
    assert r.stdout.strip() == f"0::{rel}", r.stdout
    # from outside it (this test's service): systemd moves the exec's helper in first
    r = user.run(user.berth, "exec", name, "cat", "/proc/self/cgroup")
    assert r.stdout.strip() == f"0::{rel}", r.stdout
    user.run(user.berth, "update", "--memory", str(96 << 20), "--pids-limit", "60", name)
    assert user.show(unit, "MemoryMax", "TasksMax") == {"MemoryMax": str(96 << 20),
                                                        "TasksMax": "60"}
    assert (cg / "memory.max").read_text().strip() == str(96 << 20)
    user.run(user.berth, "pause", name)
    assert (cg / "cgroup.freeze").read_text().strip() == "1"
    user.run(user.berth, "resume", name)

    user.run(user.berth, "delete", "--force", name)
    assert user.units(unit) == []
    assert not cg.exists()
    assert user.run(user.berth, "state", name, check=False).returncode != 0


def test_rootless_scope_as_uid0_of_a_user_namespace(user, bundle):
    """Rootless podman's runtime: uid 0 of a user namespace the user made, without
    --root; the bus, which sees the user's uid, takes berth's SASL EXTERNAL."""
    name = f"{NAME}n"
    unit = f"pfx-{name}.scope"
    b = bundle(name, resources={"pids": {"limit": 40}}, cgroups_path=f"user.slice:pfx:{name}",
               userns=False)
    as_root = ["unshare", "--user", "--map-root-user", user.berth, "--systemd-cgroup"]
    user.run(*as_root, "create", "--bundle", b, name)
    st = json.loads(user.run(user.berth, "state", name).stdout)
    cg = user.manager_cg / "user.slice" / unit
    assert str(st["pid"]) in (cg / "cgroup.procs").read_text().split()
    assert user.show(unit, "TasksMax") == {"TasksMax": "40"}
    user.run(*as_root[:-1], "delete", "--force", name)
    assert user.units(unit) == [] and not cg.exists()


def test_rootless_scope_from_a_login_session(user, bundle):
    """berth in the user's login session (su -l: pam_systemd's session scope, outside
    the user manager's tree): the init is moved into the scope by systemd."""
    name = f"{NAME}s"
    unit = f"berth-{name}.scope"
    b = bundle(name, resources={"pids": {"limit": 30}})
    r = run("su", "-l", NAME, "-c",
            f"cat /proc/self/cgroup; {user.berth} --systemd-cgroup create --bundle {b} {name} "
            "</dev/null >/dev/null 2>&1; echo rc=$?", check=False)
    assert "/session-" in r.stdout and "rc=0" in r.stdout, r
    st = json.loads(user.run(user.berth, "state", name).stdout)
    cg = user.manager_cg / "user.slice" / unit
    assert str(st["pid"]) in (cg / "cgroup.procs").read_text().split()
    assert (cg / "pids.max").read_text().strip() == "30"
    user.run(user.berth, "delete", "--force", name)
    assert user.units(unit) == [] and not cg.exists()


def test_limit_the_user_tree_cannot_hold_is_one_line(user, bundle):
    # cpuset is not delegated to the user's systemd: cpus cannot be kept
    assert "cpuset" not in (user.manager_cg / "cgroup.controllers").read_text().split()
    name = f"{NAME}c"
    b = bundle(name, resources={"cpu": {"cpus": "0"}})
    r = user.run(user.berth, "--systemd-cgroup", "create", "--bundle", b, name, check=False)
    assert r.returncode == 1, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cpuset" in lines[0], r.stderr
    assert user.units(f"berth-{name}.scope") == []
    assert user.run(user.berth, "state", name, check=False).returncode != 0


def test_no_user_bus_is_one_line(user, bundle):
    name = f"{NAME}x"
    b = bundle(name)
    env = user.env(XDG_RUNTIME_DIR=str(user.home))
    env.pop("DBUS_SESSION_BUS_ADDRESS")
    r = user.run(user.berth, "--root", user.home / "st", "--systemd-cgroup", "create",
                 "--bundle", b, name, check=False, env=env)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f'berth: create "{name}": --systemd-cgroup: connect to the user bus at '
        f'"{user.home}/bus": No such file or directory (is the user\'s systemd running? '
        "loginctl enable-linger)"], r.stderr


@pytest.mark.skipif(not shutil.which("runc"), reason="runc not installed")
def test_rootless_runc_side_by_side(user, bundle):
    """runc --systemd-cgroup rootless, the reference: the same unit, slice, cgroup and
    properties."""
    seen = {}
    for engine in ("runc", "berth"):
        name = f"{NAME}{engine[0]}r"
        b = bundle(name, resources=json.loads(json.dumps(RESOURCES)),
                   cgroups_path=f"user.slice:ref:{name}")
        argv = [user.berth] if engine == "berth" else ["runc", "--root", user.xdg / "runc"]
        user.run(*argv[:1], "--systemd-cgroup", *argv[1:], "create", "--bundle", b, name)
        unit = f"ref-{name}.scope"
        p = user.show(unit, "ActiveState", "Slice", "Delegate", "MemoryMax", "TasksMax",
                      "ControlGroup")
        seen[engine] = p
        cg = CG / p["ControlGroup"][1:]
        assert p["ControlGroup"] == f"/user.slice/user-{user.uid}.slice/{user.service}" \
            f"/user.slice/{unit}", (engine, p)
        assert (cg / "memory.max").read_text().strip() == str(64 << 20), engine
        assert (cg / "pids.max").read_text().strip() == "50", engine
        user.run(*argv, "delete", "--force", name)
        wait_for(lambda: user.units(unit) == [], timeout=10, what=f"{engine}: {unit} gone")
        assert not cg.exists()
    for k in ("ActiveState", "Slice", "Delegate", "MemoryMax", "TasksMax"):
        assert seen["runc"][k] == seen["berth"][k], (k, seen)
