# SPDX-License-Identifier: LGPL-2.1-or-later
"""cgroup limits, update, pause/resume, ps and events on this host.

On a hybrid host (controllers on cgroup v1, cgroup2 at /sys/fs/cgroup/unified)
berth tracks processes on the unified hierarchy and applies the memory, pids,
cpu, cpuset and devices limits through the v1 controllers at the same path.
The pure cgroup v2 tests are in test_cgroup_v2.py (run in the test VM).
After each test the env fixture checks that no cgroup directory is left, in
the unified and in every v1 hierarchy.
"""

import json
import os
import pathlib
import time

import pytest

from conftest import RUNC, SANITIZED

CG = pathlib.Path("/sys/fs/cgroup")
UNIFIED = CG / "unified"
HYBRID = UNIFIED.is_dir() and (CG / "memory" / "memory.limit_in_bytes").exists()

pytestmark = pytest.mark.skipif(not HYBRID, reason="not a hybrid cgroup host (v1 controllers + unified)")

MiB = 1024 * 1024


def unified_path(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return line.strip()[3:]
    raise AssertionError(f"no unified cgroup for {pid}")


def v1(ctrl, rel, name):
    return (CG / ctrl / rel.lstrip("/") / name).read_text().strip()


def add_caps(env, *caps):
    c = env.process.setdefault("capabilities", {})
    for k in ("bounding", "effective", "permitted"):
        c[k] = sorted(set(c.get(k, [])) | set(caps))


def start_sleeper(env, script="sleep 1000", resources=None):
    if resources is not None:
        env.linux["resources"] = resources
    cid, _ = env.create(["sh", "-c", script])
    env.start(cid)
    pid = env.state(cid)["pid"]
    return cid, pid, unified_path(pid)


def test_limits_land_in_v1_files(env):
    res = {"memory": {"limit": 64 * MiB, "swap": 64 * MiB, "reservation": 32 * MiB},
           "pids": {"limit": 20},
           "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}}
    hugetlb = "hugetlb" in (UNIFIED / "cgroup.controllers").read_text().split() and \
        pathlib.Path("/sys/kernel/mm/hugepages/hugepages-2048kB").exists()
    if hugetlb:  # the one controller on the unified hierarchy here
        res["hugepageLimits"] = [{"pageSize": "2MB", "limit": 4 * MiB}]
    cid, pid, rel = start_sleeper(env, resources=res)
    assert cid in rel
    if hugetlb:
        assert (UNIFIED / rel.lstrip("/") / "hugetlb.2MB.max").read_text().strip() == str(4 * MiB)
    assert v1("memory", rel, "memory.limit_in_bytes") == str(64 * MiB)
    assert v1("memory", rel, "memory.memsw.limit_in_bytes") == str(64 * MiB)
    assert v1("memory", rel, "memory.soft_limit_in_bytes") == str(32 * MiB)
    assert v1("pids", rel, "pids.max") == "20"
    assert v1("cpu", rel, "cpu.shares") == "512"
    assert v1("cpu", rel, "cpu.cfs_quota_us") == "50000"
    assert v1("cpu", rel, "cpu.cfs_period_us") == "100000"
    assert v1("cpuset", rel, "cpuset.cpus") == "0"
    # the init is in the v1 cgroups and sees its own cgroup as the root in each
    procs = v1("memory", rel, "cgroup.procs").split()
    assert str(pid) in procs
    r = env.berth("ps", "--format", "json", cid, check=True)
    assert json.loads(r.out) == [pid]
    env.delete(cid, force=True)
    for ctrl in ("memory", "pids", "cpu", "cpuset", "devices", "blkio"):
        assert not (CG / ctrl / rel.lstrip("/")).exists(), ctrl
    assert not (UNIFIED / rel.lstrip("/")).exists()


def test_cgroup_namespace_root_in_every_hierarchy(env):
    env.set_ns("cgroup")
    env.linux["resources"] = {"memory": {"limit": 64 * MiB}}
    r = env.sh("cat /proc/self/cgroup")
    assert r.rc == 0, r
    for line in r.out.splitlines():
        _, ctrl, path = line.split(":", 2)
        if ctrl in ("", "memory", "pids", "cpu", "cpuacct", "cpuset", "devices", "blkio"):
            assert path == "/", r.out


def test_pids_limit_enforced(env):
    env.linux["resources"] = {"pids": {"limit": 5}}
    r = env.sh("for i in 1 2 3 4 5 6 7 8 9 10; do sleep 3 & done; echo all forked")
    assert r.rc != 0 and "all forked" not in r.out, r
    assert "can't fork" in r.err or "Resource temporarily unavailable" in r.err, r
    r = env.sh("for i in 1 2 3; do sleep 0.1 & done; wait; echo all forked")
    assert r.rc == 0 and r.out == "all forked\n", r


def test_memory_limit_oom_kills_and_events_report_it(env):
    env.linux["resources"] = {"memory": {"limit": 32 * MiB, "swap": 32 * MiB}}
    # sh doubles a string until the memory cgroup's OOM killer stops it
    cid, _ = env.create(["sh", "-c", "sleep 0.5; x=a; while true; do x=$x$x; done"])
    ev = env.popen("events", "--interval", "10s", cid)
    time.sleep(0.2)
    env.start(cid)
    env.wait_status(cid, "stopped", timeout=30)
    env.delete(cid)  # events ends once the container is deleted
    r = ev.wait(timeout=30)
    assert r.rc == 0, r
    events = [json.loads(l) for l in r.out.splitlines() if l.strip()]
    assert {"type": "oom", "id": cid} in events, r


def test_memory_within_limit_runs(env):
    env.linux["resources"] = {"memory": {"limit": 32 * MiB, "swap": 32 * MiB}}
    r = env.sh("echo it works")
    assert r.rc == 0 and r.out == "it works\n", r
    if SANITIZED:
        pytest.skip("sanitizer build: ASan's shadow memory and allocator alone exceed "
                    "the 512 KiB limit below")
    # berth's own footprint in the container's cgroup before exec is tiny
    env.linux["resources"] = {"memory": {"limit": 512 * 1024}}
    r = env.run(["echo", "it works"])
    assert r.rc == 0 and r.out == "it works\n", r


def test_kill_all(env):
    cid, pid, rel = start_sleeper(env, "sleep 1000 & sleep 1000 & sleep 1000 & wait")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pids = json.loads(env.berth("ps", "--format", "json", cid, check=True).out)
        if len(pids) == 4:
            break
        time.sleep(0.05)
    assert len(pids) == 4, pids
    env.kill(cid, "KILL", all=True)
    env.wait_status(cid, "stopped")
    deadline = time.monotonic() + 5
    while json.loads(env.berth("ps", "--format", "json", cid, check=True).out):
        assert time.monotonic() < deadline, "processes left after kill --all"
        time.sleep(0.05)


def read_counter(env):
    p = env.rootfs / "count"
    try:
        return int(p.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return -1


def wait_counter_above(env, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while read_counter(env) <= n:
        assert time.monotonic() < deadline, f"counter stuck at {read_counter(env)}"
        time.sleep(0.05)


def test_pause_resume_freezes(env):
    cid, pid, rel = start_sleeper(env, "i=0; while true; do i=$((i+1)); echo $i > /c.tmp; mv /c.tmp /count; done")
    wait_counter_above(env, 0)
    env.berth("pause", cid, check=True)
    assert env.state(cid)["status"] == "paused"
    assert (UNIFIED / rel.lstrip("/") / "cgroup.freeze").read_text().strip() == "1"
    a = read_counter(env)
    time.sleep(0.5)
    b = read_counter(env)
    assert a == b, (a, b)
    # ps works on a paused container; pausing twice is an error; delete without --force refuses
    # (a child of the loop may be frozen too)
    assert pid in json.loads(env.berth("ps", "--format", "json", cid, check=True).out)
    r = env.berth("pause", cid)
    assert r.rc == 1 and "paused, not running" in r.err, r
    r = env.berth("delete", cid)
    assert r.rc == 1 and "paused" in r.err, r
    env.berth("resume", cid, check=True)
    assert env.state(cid)["status"] == "running"
    wait_counter_above(env, b)
    r = env.berth("resume", cid)
    assert r.rc == 1 and "running, not paused" in r.err, r


def test_delete_force_paused(env):
    cid, pid, rel = start_sleeper(env)
    env.berth("pause", cid, check=True)
    env.delete(cid, force=True)
    assert not (UNIFIED / rel.lstrip("/")).exists()
    assert not (CG / "memory" / rel.lstrip("/")).exists()


def test_update_flags(env):
    res = {"memory": {"limit": 64 * MiB, "swap": 64 * MiB}, "pids": {"limit": 20}}
    cid, pid, rel = start_sleeper(env, resources=res)
    env.berth("update", "--memory", "100m", "--pids-limit", "30", "--cpu-shares", "300",
              "--cpu-quota", "20000", "--cpu-period", "50000", cid, check=True)
    assert v1("memory", rel, "memory.limit_in_bytes") == str(100 * MiB)
    # the limit alone keeps "no swap": memsw follows it
    assert v1("memory", rel, "memory.memsw.limit_in_bytes") == str(100 * MiB)
    assert v1("pids", rel, "pids.max") == "30"
    assert v1("cpu", rel, "cpu.shares") == "300"
    assert v1("cpu", rel, "cpu.cfs_quota_us") == "20000"
    assert v1("cpu", rel, "cpu.cfs_period_us") == "50000"
    env.berth("update", "--memory", "48m", "--memory-swap", "96m", "--pids-limit", "-1", cid,
              check=True)
    assert v1("memory", rel, "memory.limit_in_bytes") == str(48 * MiB)
    assert v1("memory", rel, "memory.memsw.limit_in_bytes") == str(96 * MiB)
    assert v1("pids", rel, "pids.max") == "max"
    # the other options, and an option given twice counts once, the last
    env.berth("update", "--memory", "1g", "--memory-reservation", "32m", "--cpuset-cpus", "0",
              "--cpuset-mems", "0", "--memory", "80m", cid, check=True)
    want = {("memory", "memory.limit_in_bytes"): str(80 * MiB),
            ("memory", "memory.soft_limit_in_bytes"): str(32 * MiB),
            ("cpuset", "cpuset.cpus"): "0", ("cpuset", "cpuset.mems"): "0"}
    assert {(c, n): v1(c, rel, n) for c, n in want} == want
    r = env.berth("update", "--blkio-weight", "500", cid)
    blkio = CG / "blkio" / rel.lstrip("/")
    files = [f for f in ("blkio.weight", "blkio.bfq.weight") if (blkio / f).exists()]
    if files:
        assert r.rc == 0 and (blkio / files[0]).read_text().split()[-1] == "500", r
    else:  # no weight under this kernel's I/O scheduler: the error names the file
        assert r.rc == 1 and "blkio.bfq.weight" in r.err, r


def test_update_resources_json_like_docker(env):
    cid, pid, rel = start_sleeper(env, resources={"memory": {"limit": 64 * MiB, "swap": 64 * MiB}})
    # what docker update sends: zeros are fields it does not change
    body = json.dumps({"memory": {"limit": 134217728, "reservation": 0, "swap": 134217728,
                                  "kernel": 0},
                       "cpu": {"shares": 256, "quota": 0, "period": 0},
                       "pids": {"limit": 50}, "blockIO": {"weight": 0}})
    env.berth("update", "--resources", "-", cid, input=body, check=True)
    assert v1("memory", rel, "memory.limit_in_bytes") == "134217728"
    assert v1("pids", rel, "pids.max") == "50"
    assert v1("cpu", rel, "cpu.shares") == "256"
    f = env.dir / "res.json"
    f.write_text(json.dumps({"pids": {"limit": 7}}))
    env.berth("update", "-r", f, cid, check=True)
    assert v1("pids", rel, "pids.max") == "7"


def test_update_errors(env):
    cid, pid, rel = start_sleeper(env, resources={"memory": {"limit": 64 * MiB, "swap": 64 * MiB}})
    r = env.berth("update", "--resources", "-", cid, input='{"memory": {"limit": "x"}}')
    assert r.rc == 1 and "resources.memory.limit: must be an integer" in r.err, r
    r = env.berth("update", "--resources", "-", cid, input='{"pids": {"limit": 1')
    assert r.rc == 1 and "invalid JSON" in r.err, r
    r = env.berth("update", "--memory", "lots", cid)
    assert r.rc == 2 and "--memory" in r.err, r
    r = env.berth("update", cid)
    assert r.rc == 2, r
    # the kernel refuses: the error names the file and the value
    r = env.berth("update", "--cpuset-cpus", "999", cid)
    assert r.rc == 1 and "cpuset.cpus" in r.err and '"999"' in r.err, r
    r = env.berth("update", "--memory", "1g", "--memory-swap", "512m", cid)
    assert r.rc == 1 and "memory.swap" in r.err, r
    env.kill(cid, "KILL")
    env.wait_status(cid, "stopped")
    r = env.berth("update", "--pids-limit", "3", cid)
    assert r.rc == 1 and "stopped" in r.err, r


def test_events_stats_real_numbers(env):
    cid, pid, rel = start_sleeper(
        env, "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1000",
        resources={"memory": {"limit": 64 * MiB, "swap": 64 * MiB}, "pids": {"limit": 20}})
    time.sleep(0.5)
    r = env.berth("events", "--stats", cid, check=True)
    lines = r.out.splitlines()
    assert len(lines) == 1, r
    ev = json.loads(lines[0])
    assert ev["type"] == "stats" and ev["id"] == cid
    d = ev["data"]
    assert d["cpu"]["usage"]["total"] > 0
    assert d["memory"]["usage"]["usage"] > 0
    assert d["memory"]["usage"]["limit"] == 64 * MiB
    assert "rss" in d["memory"]["raw"] or "anon" in d["memory"]["raw"]
    assert d["pids"]["current"] >= 1 and d["pids"]["limit"] == 20
    # the streaming form: stats every interval, ends when the container is deleted
    ev = env.popen("events", "--interval", "200ms", cid)
    time.sleep(0.9)
    env.kill(cid, "KILL")
    env.wait_status(cid, "stopped")
    env.delete(cid)
    r = ev.wait(timeout=10)
    assert r.rc == 0, r
    stats = [json.loads(l) for l in r.out.splitlines()]
    assert len(stats) >= 2 and all(s["type"] == "stats" for s in stats), r


def test_events_interval_refused(env):
    r = env.berth("events", "--interval", "soon", "x")
    assert r.rc == 2 and "--interval" in r.err, r


def test_devices_v1(env):
    add_caps(env, "CAP_MKNOD")
    env.linux["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    r = env.sh("rm -f /dev/tblk; mknod /dev/tblk b 7 7 && dd if=/dev/tblk of=/dev/null count=1 2>&1; "
               "echo x > /dev/null && echo null-ok")
    assert r.rc == 0, r
    assert "Operation not permitted" in r.out and "null-ok" in r.out, r
    env.linux["resources"] = {"devices": [{"allow": False, "access": "rwm"},
                                          {"allow": True, "type": "b", "major": 7,
                                           "access": "rw"}]}
    r = env.sh("rm -f /dev/tblk; mknod /dev/tblk b 7 7 && dd if=/dev/tblk of=/dev/null count=1 2>&1; "
               "echo rc=$?")
    assert "Operation not permitted" not in r.out and "rc=0" in r.out, r


def test_config_errors_leave_nothing(env):
    env.linux["resources"] = {"memory": {"limit": -5}}
    cid, r = env.create(["true"], check=False)
    assert r.rc == 1 and "config.json: linux.resources.memory.limit" in r.err, r
    env.linux["resources"] = {"cpu": {"cpus": "999"}}
    cid, r = env.create(["true"], check=False)
    assert r.rc == 1 and "cpuset.cpus" in r.err and "999" in r.err, r
    # a controller berth cannot reach on this host: a clear error
    env.linux["resources"] = {"unified": {"memory.high": "1000000"}}
    cid, r = env.create(["true"], check=False)
    assert r.rc == 1 and "memory.high" in r.err and "not enabled" in r.err, r
    env.linux["resources"] = {"hugepageLimits": [{"pageSize": "3MB", "limit": 0}]}
    cid, r = env.create(["true"], check=False)
    assert r.rc == 1 and "3MB" in r.err, r
    assert env.container_ids() == []


def test_engine_limits_configs(env):
    """What docker and podman pass in linux.resources is accepted and applied."""
    env.linux["cgroupsPath"] = f"/{env.new_id()}-engine/ctr"
    env.linux["resources"] = {
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
                    {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"}],
        "memory": {"limit": 67108864, "swap": 134217728, "disableOOMKiller": False},
        "cpu": {"shares": 0, "quota": 50000, "period": 100000},
        "pids": {"limit": 20}, "blockIO": {"weight": 0}}
    r = env.sh("cat /proc/self/cgroup >/dev/null && echo ok")
    assert r.rc == 0 and r.out == "ok\n", r


def test_failed_cgroup_create_leaves_no_parent_and_keeps_its_cause(env):
    """A cgroupsPath whose last component cannot be a cgroup (the name of a file
    every cgroup has): the parents made on the way are removed again and the
    error is the one that happened, not one of the cleanup's."""
    parent = f"{env.new_id()}-parent"
    env.linux["cgroupsPath"] = f"/{parent}/mid/cgroup.procs"
    env.process["args"] = ["true"]
    env.save()
    r = env.berth("run", "-b", env.bundle, env.new_id())
    assert r.rc != 0, r
    assert "Not a directory" in r.err and len(r.err_lines) == 1, r
    left = [os.path.join(top, d) for top in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
            for d in os.listdir(top) if d == parent]
    assert not left, f"parent cgroups left: {left}"


# ---- what the container sees of its cgroups (no cgroup namespace) ----

# Prints "ROOT d" for a hierarchy whose root (or a parent) shows at
# /sys/fs/cgroup/d, then the limits as the container reads them and its
# /proc/self/cgroup. Only a hierarchy's root cgroup has release_agent (v1)
# and lacks cgroup.freeze (v2).
SEES_SCRIPT = r"""
cd /sys/fs/cgroup || exit 1
for d in *; do
  [ -L "$d" ] && continue
  [ -e "$d/release_agent" ] && echo "ROOT $d"
  [ -e "$d/$CID" ] && echo "PARENT $d"
done
[ -d unified ] && [ ! -e unified/cgroup.freeze ] && echo "ROOT unified"
echo "mem $(cat memory/memory.limit_in_bytes)"
echo "pids $(cat pids/pids.max)"
echo "quota $(cat cpu/cpu.cfs_quota_us)"
cat /proc/self/cgroup
"""

SEES_LIMITS = {"memory": {"limit": 48 * MiB}, "pids": {"limit": 33},
               "cpu": {"quota": 40000, "period": 100000}}


def set_cid(env, cid):
    """SEES_SCRIPT's $CID: the ID of the container about to run."""
    env.process["env"] = [e for e in env.process["env"] if not e.startswith("CID=")] + \
        [f"CID={cid}"]


def check_sees_own(out, cid):
    assert "ROOT" not in out and "PARENT" not in out, out
    assert f"mem {48 * MiB}\n" in out and "pids 33\n" in out and "quota 40000\n" in out, out
    paths = {}
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[0].isdigit():
            paths[parts[1]] = parts[2]
    assert paths and all(p.endswith("/" + cid) for p in paths.values()), out


@pytest.mark.parametrize("mode", ["ro", "rw"])
def test_without_cgroupns_the_container_sees_only_its_own_cgroups(env, mode):
    """docker and podman on v1 hosts use no cgroup namespace: each
    /sys/fs/cgroup/<hierarchy> is the container's own cgroup (its limits,
    nothing above it, so a read-write mount cannot reach the host's root
    files), and /proc/self/cgroup names it in every hierarchy."""
    env.remove_ns("cgroup")
    for m in env.cfg["mounts"]:
        if m["destination"] == "/sys/fs/cgroup":
            m["options"] = [o for o in m["options"] if o not in ("ro", "rw")] + [mode]
    env.linux["resources"] = SEES_LIMITS
    if RUNC:
        rid = f"{env.new_id()}-runc"
        set_cid(env, rid)
        r = env.runc_run(["sh", "-c", SEES_SCRIPT], id=rid)
        assert r.returncode == 0, r
        check_sees_own(r.stdout, rid)
    cid = env.new_id()
    set_cid(env, cid)
    r = env.run(["sh", "-c", SEES_SCRIPT], id=cid)
    assert r.rc == 0, r
    check_sees_own(r.out, cid)
    if mode == "ro":
        r = env.sh("echo 1 > /sys/fs/cgroup/pids/pids.max")
        assert r.rc != 0 and "Read-only" in r.err, r


def test_update_of_a_controller_the_config_did_not_limit(env):
    """docker update --pids-limit on a container created without one: the
    container is in its own pids cgroup from the start and sees the limit."""
    cid, pid, rel = start_sleeper(env)
    env.berth("update", "--pids-limit", "7", cid, check=True)
    r = env.berth("exec", cid, "sh", "-c", "cat /sys/fs/cgroup/pids/pids.max /proc/1/cgroup",
                  check=True)
    assert r.out.splitlines()[0] == "7", r
    assert "pids:/\n" in r.out, r
    assert str(pid) in v1("pids", rel, "cgroup.procs").split()


def runc_rt_works(env):
    """runc run of the same real-time cpu config (its cgroup is /<id>, right
    under the root, which has the real-time budget)."""
    if not RUNC:
        return
    r = env.runc_run(["sh", "-c", "cat /sys/fs/cgroup/cpu/cpu.rt_runtime_us"])
    assert r.returncode == 0 and r.stdout == "10000\n", r


@pytest.mark.skipif(not (CG / "cpu" / "cpu.rt_runtime_us").exists(),
                    reason="no real-time group scheduling")
def test_realtime_cpu(env):
    """cpu.realtimeRuntime: the container's cgroup gets its budget even under
    berth's own parent (a new cgroup has none to hand down)."""
    env.linux["resources"] = {"cpu": {"realtimeRuntime": 10000, "realtimePeriod": 1000000}}
    runc_rt_works(env)
    cid, pid, rel = start_sleeper(env)
    parent = CG / "cpu" / rel.lstrip("/")
    r = env.berth("exec", cid, "cat", "/sys/fs/cgroup/cpu/cpu.rt_runtime_us", check=True)
    assert r.out == "10000\n", r
    # berth's parent holds what its cgroups need, not the root's whole budget
    assert int((parent.parent / "cpu.rt_runtime_us").read_text()) < 950000
    env.delete(cid, force=True)
    # and gives it back: others' cgroups (runc's, right under the root) still get theirs
    if parent.parent.exists():
        assert int((parent.parent / "cpu.rt_runtime_us").read_text()) == 0
    runc_rt_works(env)


def test_delete_force_of_a_container_frozen_through_the_v1_freezer(env):
    cid, pid, rel = start_sleeper(env, script="sleep 1000 & sleep 1000")
    state = CG / "freezer" / rel.lstrip("/") / "freezer.state"
    state.write_text("FROZEN")
    try:
        for _ in range(1000):
            if state.read_text().strip() == "FROZEN":
                break
            time.sleep(0.01)
        assert state.read_text().strip() == "FROZEN"
        env.delete(cid, force=True)
        assert env.container_ids() == []
        assert not (CG / "freezer" / rel.lstrip("/")).exists()
    finally:
        if state.exists():
            state.write_text("THAWED")


@pytest.mark.skipif((CG / "net_cls").exists() or (CG / "net_prio").exists(),
                    reason="this host has net_cls or net_prio")
def test_net_cls_and_net_prio_refused_clearly_where_not_mounted(env):
    for net, ctrl in (({"classID": 1048577}, "net_cls"),
                      ({"priorities": [{"name": "lo", "priority": 1}]}, "net_prio")):
        env.linux["resources"] = {"network": net}
        cid, r = env.create(["true"], check=False)
        assert r.rc == 1 and f"no {ctrl} controller" in r.err and "not mounted" in r.err, r
        assert env.container_ids() == []


def test_cgroups_the_container_made_below_its_own_are_removed(env):
    """With a read-write cgroup mount the container may make cgroups below its
    own (and move itself there); delete removes them with its own."""
    env.remove_ns("cgroup")
    for m in env.cfg["mounts"]:
        if m["destination"] == "/sys/fs/cgroup":
            m["options"] = [o for o in m["options"] if o != "ro"] + ["rw"]
    r = env.sh("cd /sys/fs/cgroup && for d in memory pids freezer unified; do "
               "mkdir -p $d/sub/deeper || exit 1; done && "
               "echo $$ > memory/sub/deeper/cgroup.procs && echo made")
    assert r.rc == 0 and r.out == "made\n", r


def test_cgroup2_mount_without_cgroupns_shows_only_the_own_cgroup(env):
    """A read-write cgroup2 mount without a cgroup namespace is the container's
    own unified cgroup, not the host's hierarchy (whose root files and every
    other cgroup's cgroup.procs it could write). runc mounts the whole
    hierarchy there, which is unsafe: berth binds the container's directory."""
    env.remove_ns("cgroup")
    env.remove_mount("/sys/fs/cgroup")
    env.add_mount("/sys/fs/cgroup", "cgroup2", "cgroup2", ["nosuid", "noexec", "nodev", "rw"])
    cid = env.new_id()
    r = env.run(["sh", "-c", "cd /sys/fs/cgroup && [ -e cgroup.freeze ] && [ ! -e berth ] && "
                 "grep ' /sys/fs/cgroup ' /proc/self/mountinfo | grep -q nosuid && echo own"],
                id=cid)
    assert r.rc == 0 and r.out == "own\n", r


def test_exec_into_a_container_frozen_through_the_v1_freezer_does_not_hang(env):
    """berth steps into the container's v1 cgroups to clone the exec'd process:
    never into a frozen freezer cgroup, where berth itself would stop."""
    cid, pid, rel = start_sleeper(env)
    state = CG / "freezer" / rel.lstrip("/") / "freezer.state"
    state.write_text("FROZEN")
    try:
        # in the background: a berth that stopped in the freezer would not die of
        # the SIGKILL of a timeout, only once thawed below
        p = env.popen("exec", cid, "echo", "ran")
        r = p.wait(timeout=20)
        assert r.rc == 0 and r.out == "ran\n", r
    finally:
        state.write_text("THAWED")
    env.delete(cid, force=True)


def test_pids_limit_of_one(env):
    """pids.limit 1 (a container of one process): berth steps into the pids
    cgroup for the clone, and must not count against the container's limit. (No
    runc beside it: berth must pass whatever runc does, and runc 1.1 itself fails
    here now and then on a loaded machine, "container process is already dead".)"""
    env.linux["resources"] = {"pids": {"limit": 1}}
    cid = env.new_id()
    r = env.run(["sh", "-c", "cat /sys/fs/cgroup/pids/pids.max"], id=cid)
    assert r.rc == 0 and r.out == "1\n", r


def test_events_report_an_exec_oom_and_last_until_delete(env):
    """An OOM kill of any process of a running container is an event at once (v1:
    memory.oom_control's eventfd); events goes on after the container stopped (stats)
    and ends when it is deleted, as runc's does."""
    import subprocess

    from conftest import BERTH, MARK
    from test_cli import RUNC, Runc, start_with
    env.linux["resources"] = {"memory": {"limit": 32 * MiB, "swap": 32 * MiB}}
    env.process["args"] = ["sleep", "1000"]
    env.save()
    runc = Runc(env) if RUNC else None
    results = {}
    try:
        for name, tool, root in (("berth", env.berth, ["--root", str(env.root)]),
                                 ("runc", runc, ["--root", str(runc.root)] if runc else [])):
            if tool is None:
                continue
            cid = start_with(env, name, tool)
            out = env.dir / f"events-{name}.out"
            with open(out, "w") as f:
                ev = subprocess.Popen([BERTH if name == "berth" else RUNC] + root +
                                      ["events", "--interval", "1s", cid],
                                      stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                                      env=dict(os.environ, **{MARK: env.mark}))
            try:
                def lines():
                    return [json.loads(l) for l in out.read_text().splitlines()
                            if l.startswith("{")]

                def wait_for(cond, what):
                    deadline = time.monotonic() + 15
                    while not cond():
                        assert ev.poll() is None, (name, what, out.read_text())
                        assert time.monotonic() < deadline, (name, what, out.read_text())
                        time.sleep(0.05)

                # stats flow; then dd's 100 MiB buffer is OOM-killed, the container runs on
                wait_for(lambda: any(e["type"] == "stats" for e in lines()), "stats")
                r = tool("exec", cid, "dd", "if=/dev/zero", "of=/dev/null", "bs=100M",
                         "count=1")
                assert r.rc == 137, (name, r)
                wait_for(lambda: {"type": "oom", "id": cid} in
                         [{k: e[k] for k in ("type", "id")} for e in lines()], "oom")
                st = json.loads(tool("state", cid, check=True).out)["status"]
                assert st == "running", name
                # stopped: events goes on (another stats line comes)
                tool("kill", cid, "KILL", check=True)
                wait_for(lambda: json.loads(tool("state", cid, check=True).out)["status"]
                         == "stopped", "stopped")
                n = len(lines())
                wait_for(lambda: len(lines()) > n, "stats after stop")
                # deleted: events ends
                tool("delete", cid, check=True)
                assert ev.wait(timeout=20) == 0, (name, out.read_text())
                results[name] = "ok"
            finally:
                if ev.poll() is None:
                    ev.kill()
                ev.wait()
    finally:
        if runc:
            runc.close()
    assert set(results.values()) == {"ok"}, results


def _side_by_side(env):
    """(name, tool) for berth and, where installed, runc; runc's are closed by the caller."""
    from test_cli import RUNC, Runc
    tools = [("berth", env.berth)]
    if RUNC:
        tools.append(("runc", Runc(env)))
    return tools


def test_update_memory_minus_1_is_unlimited(env):
    """--memory -1 with a memory+swap limit set: both become unlimited (runc sets
    memsw to -1 too, first, as the kernel wants memsw >= the limit at every step)."""
    from test_cli import start_with
    env.process["args"] = ["sleep", "1000"]
    env.linux["resources"] = {"memory": {"limit": 64 * MiB, "swap": 128 * MiB}}
    env.save()
    tools = _side_by_side(env)
    got = {}
    try:
        for name, tool in tools:
            cid = start_with(env, name, tool)
            pid = json.loads(tool("state", cid, check=True).out)["pid"]
            mem = [l.split(":", 2)[2] for l in open(f"/proc/{pid}/cgroup").read().splitlines()
                   if l.split(":")[1] == "memory"][0]
            r = tool("update", "--memory", "-1", cid)
            assert r.rc == 0, (name, r)
            got[name] = [int(v1("memory", mem, f)) for f in
                         ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")]
    finally:
        for name, tool in tools[1:]:
            tool.close()
    unlimited = (1 << 63) - 4096
    assert got["berth"] == [unlimited, unlimited], got
    assert all(g == got["berth"] for g in got.values()), got


def test_update_cpu_quota_and_period_under_a_limited_parent(env):
    """The parent allows half a CPU; the container has it. A shorter period with a
    smaller quota, then back: one of the two orders of writes is refused by the
    kernel each time (quota/period above the parent's) and must not be used."""
    parent = f"{env.new_id()}-p"
    pdir = CG / "cpu" / parent
    pdir.mkdir()
    (pdir / "cpu.cfs_period_us").write_text("100000")
    (pdir / "cpu.cfs_quota_us").write_text("50000")
    env.process["args"] = ["sleep", "1000"]
    env.linux["resources"] = {"cpu": {"quota": 50000, "period": 100000}}
    tools = _side_by_side(env)
    made = []
    got = {}
    want = [(25000, 50000), (50000, 100000), (-1, 20000), (10000, 100000)]
    try:
        for name, tool in tools:
            cid = ("r" if name == "runc" else "") + env.new_id()
            env.ids.add(cid)
            env.linux["cgroupsPath"] = f"/{parent}/{cid}"
            env.save()
            made.append((tool, cid))
            tool("create", "--bundle", env.bundle, cid, check=True)
            tool("start", cid, check=True)
            got[name] = []
            for q, p in want:
                r = tool("update", "--cpu-quota", q, "--cpu-period", p, cid)
                assert r.rc == 0, (name, q, p, r)
                got[name].append((int(v1("cpu", f"/{parent}/{cid}", "cpu.cfs_quota_us")),
                                  int(v1("cpu", f"/{parent}/{cid}", "cpu.cfs_period_us"))))
    finally:
        for tool, cid in made:
            tool("delete", "--force", cid)
        for name, tool in tools[1:]:
            tool.close()
        # runc leaves the parents it made, in every hierarchy
        from test_cli import rmdir_cgroups
        rmdir_cgroups([h / parent for h in CG.iterdir() if (h / parent).is_dir()])
    assert got["berth"] == want, got
    assert all(g == want for g in got.values()), got
