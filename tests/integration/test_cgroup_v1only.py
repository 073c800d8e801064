# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth on a host with cgroup v1 only (no cgroup2 mounted anywhere).

Runs in the test VM booted with `tests/vm/run-in-vm.sh --cgroup v1` (the
second pass of tests/vm/run-tests.sh): /sys/fs/cgroup is a tmpfs with one v1
hierarchy per controller (cpu,cpuacct and net_cls,net_prio co-mounted) and
name=systemd; skips elsewhere. The processes are tracked in the freezer
hierarchy. Where runc is installed it runs the same scenario in the same
test: berth must not fail where runc succeeds. The env fixture (conftest.py)
checks after each test that no cgroup is left.
"""

import json
import os
import pathlib
import subprocess
import time

import pytest

CG = pathlib.Path("/sys/fs/cgroup")
MiB = 1024 * 1024


def v1_only():
    """No cgroup2 mount anywhere, and a v1 freezer hierarchy."""
    try:
        mounts = [l.split() for l in open("/proc/mounts")]
    except OSError:
        return False
    if any(m[2] == "cgroup2" for m in mounts):
        return False
    return any(m[2] == "cgroup" and "freezer" in m[3].split(",") for m in mounts)


pytestmark = pytest.mark.skipif(not v1_only(), reason="the host is not cgroup v1 only")


@pytest.fixture(scope="session")
def rootfs_template(session_dir):
    """A busybox tree made without a process per applet (every exec is slow under TCG)."""
    from conftest import busybox_tree
    return busybox_tree(session_dir / "rootfs-v1only")


def tools(env):
    """(name, tool): runc first where installed (its result is the reference), then berth."""
    from test_cli import RUNC, Runc
    out = []
    if RUNC:
        out.append(("runc", Runc(env)))
    out.append(("berth", env.berth))
    return out


def side_by_side(env, scenario):
    """Run scenario(env, name, tool) with runc and berth; berth must pass where runc did."""
    results = {}
    ts = tools(env)
    try:
        for name, tool in ts:
            try:
                scenario(env, name, tool)
                results[name] = "ok"
            except AssertionError as e:
                if name == "berth":
                    raise AssertionError(f"berth fails (runc: {results.get('runc', 'absent')})"
                                         f": {e}") from e
                results[name] = f"failed: {e}"
    finally:
        for name, tool in ts:
            if name == "runc":
                tool.close()
    return results


def start(env, name, tool):
    cid = ("r" if name == "runc" else "") + env.new_id()
    env.ids.add(cid)
    env.save()
    tool("create", "--bundle", env.bundle, cid, check=True)
    tool("start", cid, check=True)
    return cid


def state(tool, cid):
    return json.loads(tool("state", cid, check=True).out)


def host_cgroups(pid):
    """{hierarchy: path} from /proc/PID/cgroup ("cpu,cpuacct", "name=systemd", ...)."""
    out = {}
    for line in open(f"/proc/{pid}/cgroup").read().splitlines():
        _, ctrls, path = line.split(":", 2)
        if ctrls:
            out[ctrls] = path
    return out


def hdir(hierarchy, path):
    name = hierarchy[5:] if hierarchy.startswith("name=") else hierarchy
    return CG / name / path.lstrip("/")


def left_dirs(cid):
    """Directories named cid (or berth's default parent) in any hierarchy."""
    found = []
    for h in os.listdir(CG):
        top = CG / h
        if top.is_symlink():
            continue
        for dirpath, dirnames, _ in os.walk(top):
            found += [os.path.join(dirpath, d) for d in dirnames if d == cid or d == "berth"]
    return found


# Prints the limits as the container reads them, whether it sees a hierarchy's
# root (only a root has release_agent) or anything of cgroup2, and its
# /proc/self/cgroup.
SEES_SCRIPT = r"""
cd /sys/fs/cgroup || exit 1
for d in *; do
  [ -L "$d" ] && continue
  [ -e "$d/release_agent" ] && echo "ROOT $d"
done
[ -e unified ] && echo "UNIFIED"
grep -q cgroup2 /proc/self/mountinfo && echo "CGROUP2"
echo "mem $(cat memory/memory.limit_in_bytes)"
echo "pids $(cat pids/pids.max)"
echo "quota $(cat cpu/cpu.cfs_quota_us)"
echo "freezer $(cat freezer/freezer.state)"
echo 5 > pids/pids.max 2>/dev/null && echo "WROTE"
cat /proc/self/cgroup
"""

SEES_LIMITS = {"memory": {"limit": 48 * MiB}, "pids": {"limit": 33},
               "cpu": {"quota": 40000, "period": 100000}}


@pytest.mark.parametrize("cgroupns", [True, False], ids=["cgroupns", "no-cgroupns"])
def test_the_container_sees_its_own_cgroups_read_only(env, cgroupns):
    """Each v1 controller at /sys/fs/cgroup/<controller> is the container's own
    cgroup (its limits, no hierarchy root), read-only as the config asks; no
    `unified`, no cgroup2. /proc/self/cgroup names the container's cgroup in
    every hierarchy ("/" in a cgroup namespace)."""
    if cgroupns:
        env.set_ns("cgroup")
    else:
        env.remove_ns("cgroup")
    env.linux["resources"] = SEES_LIMITS
    env.process["args"] = ["sh", "-c", SEES_SCRIPT]

    def scenario(env, name, tool):
        cid = ("r" if name == "runc" else "") + env.new_id()
        env.ids.add(cid)
        env.save()
        r = tool("run", "--bundle", env.bundle, cid)
        assert r.rc == 0, r
        out = r.out
        assert "ROOT" not in out and "UNIFIED" not in out and "CGROUP2" not in out, out
        assert f"mem {48 * MiB}\n" in out and "pids 33\n" in out, out
        assert "quota 40000\n" in out and "freezer THAWED\n" in out, out
        assert "WROTE" not in out, out  # read-only
        paths = {}
        for line in out.splitlines():
            parts = line.split(":", 2)
            if len(parts) == 3 and parts[0].isdigit():
                paths[parts[1]] = parts[2]
        for h in ("memory", "pids", "cpu,cpuacct", "freezer", "devices", "name=systemd"):
            assert h in paths, (h, out)
        want = (lambda p: p == "/") if cgroupns else (lambda p: p.endswith("/" + cid))
        assert all(want(p) for p in paths.values()), out
        tool("delete", "--force", cid)

    side_by_side(env, scenario)


def test_limits_in_each_hierarchy_and_device_rules(env):
    """The limits land in the v1 files of the container's cgroups; the device
    rules deny all but the defaults (devices.list), and /dev/null works."""
    env.linux["resources"] = {"memory": {"limit": 64 * MiB, "swap": 64 * MiB},
                              "pids": {"limit": 20},
                              "cpu": {"shares": 512, "quota": 30000, "period": 100000}}
    env.process["args"] = ["sh", "-c", "echo x > /dev/null && sleep 1000"]

    def scenario(env, name, tool):
        cid = start(env, name, tool)
        cg = host_cgroups(state(tool, cid)["pid"])
        assert (hdir("memory", cg["memory"]) / "memory.limit_in_bytes").read_text() == \
            f"{64 * MiB}\n"
        assert (hdir("pids", cg["pids"]) / "pids.max").read_text() == "20\n"
        cpu = hdir("cpu,cpuacct", cg["cpu,cpuacct"])
        assert (cpu / "cpu.shares").read_text() == "512\n"
        assert (cpu / "cpu.cfs_quota_us").read_text() == "30000\n"
        devs = (hdir("devices", cg["devices"]) / "devices.list").read_text()
        assert "a *:* rwm" not in devs and "c 1:3 rwm" in devs, devs
        assert state(tool, cid)["status"] == "running"
        tool("delete", "--force", cid, check=True)

    side_by_side(env, scenario)


COUNTER = "i=0; while true; do i=$((i+1)); echo $i > /c.tmp; mv /c.tmp /count; done"


def read_counter(tool, cid):
    r = tool("exec", cid, "cat", "/count")
    return int(r.out.strip() or 0) if r.rc == 0 else 0


def test_pause_resume_ps_kill_all(env):
    """pause freezes the freezer cgroup (freezer.state FROZEN, state "paused"),
    resume thaws it; ps lists the processes; kill --all KILL ends them all,
    also while paused."""
    env.process["args"] = ["sh", "-c", COUNTER]

    def scenario(env, name, tool):
        cid = start(env, name, tool)
        pid = state(tool, cid)["pid"]
        fz = hdir("freezer", host_cgroups(pid)["freezer"])
        deadline = time.monotonic() + 30
        while read_counter(tool, cid) == 0:
            assert time.monotonic() < deadline, "the counter does not count"
        tool("pause", cid, check=True)
        assert state(tool, cid)["status"] == "paused"
        assert (fz / "freezer.state").read_text() == "FROZEN\n"
        a = int(pathlib.Path(f"/proc/{pid}/root/count").read_text())
        time.sleep(1)
        assert int(pathlib.Path(f"/proc/{pid}/root/count").read_text()) == a
        pids = json.loads(tool("ps", "--format", "json", cid, check=True).out)
        assert pid in pids, pids
        tool("resume", cid, check=True)
        assert state(tool, cid)["status"] == "running"
        assert (fz / "freezer.state").read_text() == "THAWED\n"
        deadline = time.monotonic() + 30
        while int(pathlib.Path(f"/proc/{pid}/root/count").read_text()) == a:
            assert time.monotonic() < deadline, "the counter did not resume"
            time.sleep(0.05)
        # a second process; pause; kill --all kills both although frozen
        r = tool("exec", "-d", cid, "sleep", "1000")
        assert r.rc == 0, r
        deadline = time.monotonic() + 10
        while len(json.loads(tool("ps", "--format", "json", cid, check=True).out)) < 2:
            assert time.monotonic() < deadline, "the exec'd process is not listed"
            time.sleep(0.05)
        tool("pause", cid, check=True)
        tool("kill", "--all", cid, "KILL", check=True)
        deadline = time.monotonic() + 10
        while state(tool, cid)["status"] != "stopped":
            assert time.monotonic() < deadline, state(tool, cid)
            time.sleep(0.05)
        procs = (fz / "cgroup.procs").read_text().split() if fz.exists() else []
        assert procs == [], procs
        tool("delete", cid, check=True)

    side_by_side(env, scenario)


def test_exec_joins_the_cgroups_and_update_is_seen_inside(env):
    """exec runs in the init's cgroup in every hierarchy; update of pids and
    memory is what the container then reads in its own files."""
    env.linux["resources"] = {"memory": {"limit": 64 * MiB}, "pids": {"limit": 20}}
    env.process["args"] = ["sleep", "1000"]

    def scenario(env, name, tool):
        cid = start(env, name, tool)
        r = tool("exec", cid, "sh", "-c", "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup")
        assert r.rc == 0, r
        mine, init = r.out.split("--\n")
        assert mine == init and mine.count("\n") >= 10, r.out
        tool("update", "--pids-limit", "7", "--memory", "100m", cid, check=True)
        r = tool("exec", cid, "cat", "/sys/fs/cgroup/pids/pids.max",
                 "/sys/fs/cgroup/memory/memory.limit_in_bytes")
        assert r.rc == 0 and r.out == f"7\n{100 * MiB}\n", r
        tool("delete", "--force", cid, check=True)

    side_by_side(env, scenario)


def test_events_stats_have_numbers(env):
    env.linux["resources"] = {"memory": {"limit": 64 * MiB}, "pids": {"limit": 20}}
    env.process["args"] = ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; "
                           "sleep 1000"]

    def scenario(env, name, tool):
        cid = start(env, name, tool)
        time.sleep(1)
        d = json.loads(tool("events", "--stats", cid, check=True).out)["data"]
        assert d["cpu"]["usage"]["total"] > 0, d["cpu"]
        assert d["memory"]["usage"]["usage"] > 0, d["memory"]
        assert d["memory"]["usage"]["limit"] == 64 * MiB, d["memory"]
        assert d["pids"]["current"] >= 1 and d["pids"]["limit"] == 20, d["pids"]
        tool("delete", "--force", cid, check=True)

    side_by_side(env, scenario)


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_delete_force_leaves_no_cgroup(env, paused):
    """delete -f of a running or a frozen container: its directory in every
    hierarchy and berth's default parent are gone (a frozen task dies of
    SIGKILL only once thawed)."""
    env.linux["resources"] = {"memory": {"limit": 64 * MiB}}
    env.process["args"] = ["sh", "-c", "sleep 1000 & sleep 1000"]

    def scenario(env, name, tool):
        cid = start(env, name, tool)
        cg = host_cgroups(state(tool, cid)["pid"])
        assert all(hdir(h, p).is_dir() for h, p in cg.items()), cg
        if paused:
            tool("pause", cid, check=True)
        r = tool("delete", "--force", cid)
        assert r.rc == 0, r
        # (runc 1.1.5 leaves misc at the root: it does not know that controller)
        assert not [h for h, p in cg.items() if p != "/" and hdir(h, p).exists()], cg
        assert not left_dirs(cid), left_dirs(cid)

    side_by_side(env, scenario)


def test_existing_cgroup_is_taken_over_only_while_empty(env):
    """linux.cgroupsPath naming a cgroup that exists: refused while it has a
    process (there is no cgroup.events on v1), used once empty."""
    env.remove_ns("cgroup")
    name = f"{env.new_id()}-pre"
    pre = CG / "freezer" / name
    pre.mkdir()
    sleeper = subprocess.Popen(["sleep", "1000"])
    try:
        (pre / "cgroup.procs").write_text(str(sleeper.pid))
        env.linux["cgroupsPath"] = f"/{name}"
        r = env.run(["true"])
        assert r.rc != 0 and "already has processes" in r.err, r
        assert len(r.err_lines) == 1, r
    finally:
        sleeper.kill()
        sleeper.wait()
    deadline = time.monotonic() + 5
    while (pre / "cgroup.procs").read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    r = env.run(["cat", "/proc/self/cgroup"])
    assert r.rc == 0 and f"freezer:/{name}\n" in r.out, r
    assert not [h for h in os.listdir(CG) if (CG / h / name).exists()]
    if pre.exists():
        pre.rmdir()


def test_a_cgroup2_mount_fails_clearly(env):
    """A "cgroup2" mount needs a cgroup2 hierarchy: one line says there is none.
    runc 1.1.5 mounts one here, and the container then sees the host's root
    cgroup: every host process in its cgroup.procs, writable with rw. berth
    refuses instead."""
    env.remove_mount("/sys/fs/cgroup")
    env.add_mount("/sys/fs/cgroup", "cgroup2", "cgroup2", ["nosuid", "noexec", "nodev", "ro"])
    r = env.run(["true"])
    assert r.rc != 0, r
    assert "no cgroup2 hierarchy (cgroup v1 only)" in r.err and len(r.err_lines) == 1, r
    assert not left_dirs(r.argv[-1])


def test_oom_event_and_exec_into_a_paused_container(env):
    """An OOM kill in the container is an event (memory.oom_control's eventfd).
    exec --ignore-paused joins the frozen freezer cgroup: the process runs
    once the container is resumed, and is tracked (ps) like the others."""
    from conftest import BERTH, MARK
    from test_cli import RUNC
    env.linux["resources"] = {"memory": {"limit": 32 * MiB, "swap": 32 * MiB}}
    env.process["args"] = ["sleep", "1000"]

    def scenario(env, name, tool):
        cid = start(env, name, tool)
        root = ["--root", str(tool.root if name == "runc" else env.root)]
        out = env.dir / f"events-{name}.out"
        with open(out, "w") as f:
            ev = subprocess.Popen([RUNC if name == "runc" else BERTH] + root +
                                  ["events", "--interval", "1s", cid],
                                  stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                                  env=dict(os.environ, **{MARK: env.mark}))
        try:
            r = tool("exec", cid, "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1")
            assert r.rc == 137, r
            deadline = time.monotonic() + 20
            while '"type":"oom"' not in out.read_text().replace(" ", ""):
                assert ev.poll() is None and time.monotonic() < deadline, out.read_text()
                time.sleep(0.05)
        finally:
            ev.kill()
            ev.wait()
        tool("pause", cid, check=True)
        argv = [RUNC if name == "runc" else BERTH] + root + \
            ["exec", "--ignore-paused", cid, "sh", "-c", "cat /proc/self/cgroup"]
        with open(env.dir / f"exec-{name}.out", "w+") as f:
            ex = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                                  env=dict(os.environ, **{MARK: env.mark}))
            time.sleep(1)
            assert ex.poll() is None, "the exec'd process ran in a paused container"
            tool("resume", cid, check=True)
            assert ex.wait(timeout=20) == 0
            f.seek(0)
            seen = f.read()
        assert "freezer:/\n" in seen, seen
        tool("delete", "--force", cid, check=True)

    side_by_side(env, scenario)


def test_exec_into_a_sub_cgroup(env):
    """exec --cgroup SUB: the freezer (tracking) hierarchy and the others
    that have SUB; freezer:SUB alone moves only there."""
    env.remove_ns("cgroup")
    env.process["args"] = ["sleep", "1000"]
    cid = start(env, "berth", env.berth)
    cg = host_cgroups(state(env.berth, cid)["pid"])
    for h in ("freezer", "memory"):
        (hdir(h, cg[h]) / "sub").mkdir()
    r = env.berth("exec", "--cgroup", "sub", cid, "cat", "/proc/self/cgroup")
    assert r.rc == 0, r
    lines = dict(l.split(":", 2)[1:] for l in r.out.splitlines())
    assert lines["freezer"] == cg["freezer"] + "/sub", r.out
    assert lines["memory"] == cg["memory"] + "/sub", r.out
    assert lines["pids"] == cg["pids"], r.out
    r = env.berth("exec", "--cgroup", "memory:sub", cid, "cat", "/proc/self/cgroup")
    assert r.rc == 0, r
    lines = dict(l.split(":", 2)[1:] for l in r.out.splitlines())
    assert lines["freezer"] == cg["freezer"] and lines["memory"] == cg["memory"] + "/sub", r.out
    env.berth("delete", "--force", cid, check=True)
    assert not left_dirs(cid), left_dirs(cid)
