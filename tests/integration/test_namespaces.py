# SPDX-License-Identifier: LGPL-2.1-or-later
"""Namespaces: new ones differ from the host's, absent ones are shared, a path
joins an existing one; user and time namespaces with their mappings."""

import os
import shutil
import subprocess
import tempfile
import time

import pytest

SPEC_TO_PROC = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts",
                "cgroup": "cgroup", "user": "user", "time": "time"}

PRINT_NS = "for n in pid net mnt ipc uts cgroup user time; do echo $n $(readlink /proc/self/ns/$n); done"


def ns_inside(r):
    assert r.rc == 0, r
    return dict(l.split(" ", 1) for l in r.out.splitlines())


def run_runc(env, id, timeout=20):
    """runc run of env's bundle (as saved) under a state root of its own; None without runc."""
    runc = shutil.which("runc")
    if not runc:
        return None
    root = tempfile.mkdtemp(dir=env.dir)
    try:
        return subprocess.run([runc, "--root", root, "run", "-b", str(env.bundle), id],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
    finally:
        subprocess.run([runc, "--root", root, "delete", "-f", id], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_default_namespaces_are_new(env, host_ns):
    types = set(env.ns_types())
    assert {"pid", "network", "mount", "ipc", "uts"} <= types
    inside = ns_inside(env.sh(PRINT_NS))
    for spec_name, proc in SPEC_TO_PROC.items():
        if spec_name in types:
            assert inside[proc] != host_ns(proc), f"{spec_name} namespace not new"
        else:
            assert inside[proc] == host_ns(proc), f"{spec_name} namespace not shared"


def test_all_but_user_new(env, host_ns):
    for t in ("pid", "network", "mount", "ipc", "uts", "cgroup"):
        env.set_ns(t)
    inside = ns_inside(env.sh(PRINT_NS))
    for t in ("pid", "net", "mnt", "ipc", "uts", "cgroup"):
        assert inside[t] != host_ns(t), t
    assert inside["user"] == host_ns("user")


@pytest.mark.parametrize("drop", ["network", "ipc", "uts"])
def test_dropped_namespace_is_shared(env, host_ns, drop):
    env.remove_ns(drop)
    if drop == "network":
        env.remove_mount("/sys")  # sysfs needs its own netns; bind /sys instead
        env.add_mount("/sys", None, "/sys", ["rbind", "nosuid", "noexec", "nodev", "ro"])
    if drop == "uts":
        env.cfg.pop("hostname", None)
        env.cfg.pop("domainname", None)
    inside = ns_inside(env.sh(PRINT_NS))
    proc = SPEC_TO_PROC[drop]
    assert inside[proc] == host_ns(proc)
    assert inside["mnt"] != host_ns("mnt")


def test_pid_namespace_init_is_pid1(env):
    r = env.sh("echo $$; ps -o pid,comm | wc -l")
    assert r.rc == 0, r
    lines = r.out.split()
    assert lines[0] == "1"
    # header + sh + ps (+ wc): nothing of the host is visible
    assert int(lines[1]) <= 5, r


def test_join_namespace_by_path(env):
    """A second container joins the first one's network and ipc namespaces by path."""
    a, _ = env.create(["sleep", "100"])
    env.start(a)
    apid = env.state(a)["pid"]
    a_net = os.readlink(f"/proc/{apid}/ns/net")
    a_ipc = os.readlink(f"/proc/{apid}/ns/ipc")
    a_uts = os.readlink(f"/proc/{apid}/ns/uts")
    env.set_ns("network", f"/proc/{apid}/ns/net")
    env.set_ns("ipc", f"/proc/{apid}/ns/ipc")
    inside = ns_inside(env.sh(PRINT_NS))
    assert inside["net"] == a_net
    assert inside["ipc"] == a_ipc
    assert inside["uts"] != a_uts


def test_join_bad_path_fails_cleanly(env):
    env.set_ns("network", "/proc/self/ns/nonexistent")
    r = env.run(["true"])
    assert r.rc == 1, r
    assert len(r.err_lines) == 1, r


def test_join_wrong_type_fails(env):
    env.set_ns("network", "/proc/self/ns/ipc")
    r = env.run(["true"])
    assert r.rc == 1, r
    assert len(r.err_lines) == 1, r


def test_user_namespace_mappings(env, host_ns):
    env.set_ns("user")
    env.set_ns("cgroup")
    env.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    env.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    env.remove_mount("/sys/fs/cgroup")
    r = env.sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; readlink /proc/self/ns/user")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0].split() == ["0", "100000", "65536"]
    assert lines[1].split() == ["0", "100000", "65536"]
    assert lines[2] == "0"
    assert lines[3] != host_ns("user")


def test_user_namespace_process_runs_as_mapped_host_uid(env):
    env.set_ns("user")
    env.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    env.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    env.remove_mount("/sys/fs/cgroup")
    cid, _ = env.create(["sleep", "100"])
    env.start(cid)
    pid = env.state(cid)["pid"]
    st = os.stat(f"/proc/{pid}")
    assert (st.st_uid, st.st_gid) == (100000, 100000)


def test_time_namespace_offsets(env):
    env.set_ns("time")
    env.linux["timeOffsets"] = {"boottime": {"secs": 1000000, "nanosecs": 0},
                                "monotonic": {"secs": 2000000, "nanosecs": 0}}
    host_uptime = float(open("/proc/uptime").read().split()[0])
    r = env.sh("cat /proc/uptime")
    assert r.rc == 0, r
    up = float(r.out.split()[0])
    assert 1000000 + host_uptime - 5 < up < 1000000 + host_uptime + 60, (up, host_uptime)


def test_cgroup_namespace_root(env):
    env.set_ns("cgroup")
    r = env.sh("cat /proc/self/cgroup")
    assert r.rc == 0, r
    # in its own cgroup namespace the container sees itself at the root
    v2 = [l for l in r.out.splitlines() if l.startswith("0::")]
    assert v2 == ["0::/"], r.out


def _procs_in_pidns(ns):
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{d}/ns/pid") != ns:
                continue
            found[int(d)] = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
    return found


def test_join_pid_namespace_by_path(env):
    """Joining a pid namespace forks once more: the pid of the real init must
    reach berth before anything the init sends later, every time."""
    a, _ = env.create(["sleep", "100"])
    env.start(a)
    apid = env.state(a)["pid"]
    a_pid = os.readlink(f"/proc/{apid}/ns/pid")
    env.set_ns("pid", f"/proc/{apid}/ns/pid")
    env.process["args"] = ["sh", "-c", "readlink /proc/self/ns/pid"]
    env.save()
    for _ in range(40):
        r = env.berth("run", "-b", env.bundle, env.new_id())
        assert r.rc == 0, r
        assert r.out.strip() == a_pid, r
    rr = run_runc(env, env.new_id())
    if rr is not None:
        assert (rr.returncode, rr.stdout.strip()) == (0, a_pid), rr


def test_join_pid_namespace_delete_leaves_no_zombie(env):
    a, _ = env.create(["sleep", "100"])
    env.start(a)
    apid = env.state(a)["pid"]
    a_pid = os.readlink(f"/proc/{apid}/ns/pid")
    env.set_ns("pid", f"/proc/{apid}/ns/pid")
    for _ in range(5):
        b, _ = env.create(["sleep", "100"])
        env.delete(b, force=True)
    # nothing of the deleted containers stays there, zombie or alive (reaping by
    # whoever adopted them is asynchronous: wait until it is done, or never)
    left = {}
    for _ in range(50):
        left = {p: st for p, st in _procs_in_pidns(a_pid).items() if p != apid}
        if not left:
            break
        time.sleep(0.1)
    assert not left


@pytest.mark.parametrize("case", [
    ("hostname", "kernel.hostname", "new"),
    ("domainname", "kernel.domainname", "new"),
    (None, "kernel.hostname", "shared"),
    (None, "kernel.domainname", "joined"),
])
def test_uts_sysctl_conflicts_refused(env, case):
    field, sysctl, uts = case
    if field:
        env.cfg[field] = "fromfield"
    else:
        env.cfg.pop("hostname", None)
        env.cfg.pop("domainname", None)
    env.linux["sysctl"] = {sysctl: "fromsysctl"}
    if uts == "shared":
        env.remove_ns("uts")
    seen = "/proc/self/root/proc/sys/kernel/"
    if uts == "joined":
        a, _ = env.create(["sleep", "100"])
        env.start(a)
        seen = f"/proc/{env.state(a)['pid']}/root/proc/sys/kernel/"
        env.set_ns("uts", f"/proc/{env.state(a)['pid']}/ns/uts")
    r = env.sh("hostname; cat /proc/sys/kernel/domainname")
    assert r.rc == 1, r
    assert "linux.sysctl" in r.err and sysctl in r.err, r
    assert open(seen + "hostname").read().strip() != "fromsysctl"
    assert open(seen + "domainname").read().strip() != "fromsysctl"
    # runc 1.1 has no domainname field and lets a joined namespace be renamed
    if sysctl == "kernel.hostname":
        rr = run_runc(env, env.new_id())
        if rr is not None:
            assert rr.returncode != 0, rr


def test_uts_sysctl_agreeing_with_field_accepted(env):
    env.cfg["hostname"] = "same"
    env.linux["sysctl"] = {"kernel.domainname": "dom"}
    r = env.sh("hostname; cat /proc/sys/kernel/domainname")
    assert r.rc == 0, r
    assert r.out.split() == ["same", "dom"], r


def test_new_network_namespace_has_lo_up(env):
    assert "network" in env.ns_types()
    r = env.sh("cat /sys/class/net/lo/flags")
    assert r.rc == 0, r
    assert int(r.out, 16) & 0x1, r  # IFF_UP
    rr = run_runc(env, env.new_id())
    if rr is not None:
        assert rr.returncode == 0 and int(rr.stdout, 16) & 0x1, rr


def _runtime_mntns_config(env):
    """No mount namespace: nothing that mounts, as berth accepts it."""
    env.remove_ns("mount")
    env.cfg["mounts"] = []
    env.linux.pop("maskedPaths", None)
    env.linux.pop("readonlyPaths", None)
    env.write_rootfs("/marker", "in-rootfs\n", 0o644)


def test_no_mount_namespace_runs_in_runtimes(env, host_ns):
    """Spec: a namespace left out is the runtime's. Only the root changes."""
    _runtime_mntns_config(env)
    r = env.run(["cat", "/marker"])
    assert r.rc == 0, r
    assert r.out == "in-rootfs\n", r
    cid, _ = env.create(["sleep", "100"])
    env.start(cid)
    pid = env.state(cid)["pid"]
    assert os.readlink(f"/proc/{pid}/ns/mnt") == host_ns("mnt")
    assert os.readlink(f"/proc/{pid}/root") == str(env.rootfs)
    r = env.berth("exec", cid, "cat", "/marker")
    assert r.rc == 0 and r.out == "in-rootfs\n", r
    env.delete(cid, force=True)
    if shutil.which("runc"):
        # runc runs there too, but makes / a slave and leaves its mounts (it needs
        # /proc) in the caller's mount table: only in a scratch namespace
        env.add_mount("/proc", "proc", "proc")
        env.process["args"] = ["cat", "/marker"]
        env.save()
        root = tempfile.mkdtemp(dir=env.dir)
        rid = env.new_id()
        rr = subprocess.run(["unshare", "-m", "--propagation", "private", "runc", "--root",
                             root, "run", "-b", str(env.bundle), rid],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=20)
        assert rr.returncode == 0, rr
        assert rr.stdout == "in-rootfs\n", rr


@pytest.mark.parametrize("field", ["mounts", "maskedPaths", "terminal", "own-path"])
def test_no_mount_namespace_refuses_what_would_mount(env, field):
    mounts_before = open("/proc/self/mountinfo").read().count(str(env.rootfs))
    if field == "own-path":
        # a path to berth's own mount namespace is no new one either
        env.set_ns("mount", "/proc/self/ns/mnt")
    else:
        _runtime_mntns_config(env)
        if field == "mounts":
            env.add_mount("/proc", "proc", "proc")
        elif field == "maskedPaths":
            env.linux["maskedPaths"] = ["/proc/kcore"]
        else:
            env.process["terminal"] = True
    r = env.run(["true"])
    assert r.rc == 1, r
    assert "needs a new mount namespace" in r.err, r
    assert len(r.err_lines) == 1, r
    assert open("/proc/self/mountinfo").read().count(str(env.rootfs)) == mounts_before


def test_join_mount_namespace_by_path(env):
    """A mount namespace made beforehand (bound to a file) is joined; the root
    filesystem is set up inside it, as runc does, and the host's is untouched."""
    env.write_rootfs("/marker", "in-rootfs\n", 0o644)
    d = env.dir / "nsfiles"
    d.mkdir()
    subprocess.run(["mount", "--bind", str(d), str(d)], check=True)
    try:
        subprocess.run(["mount", "--make-private", str(d)], check=True)
        f = d / "mnt"
        f.touch()
        subprocess.run(["unshare", f"--mount={f}", "--propagation", "private", "true"],
                       check=True)
        # (runc 1.1.5 fails here: "open /proc/self/mountinfo: no such file or directory")
        env.set_ns("mount", str(f))
        r = env.sh("readlink /proc/self/ns/mnt; cat /marker")
        assert r.rc == 0, r
        assert r.out.split() == [f"mnt:[{os.stat(f).st_ino}]", "in-rootfs"], r
    finally:
        subprocess.run(["umount", str(d / "mnt")], capture_output=True)
        subprocess.run(["umount", str(d)], check=True)
