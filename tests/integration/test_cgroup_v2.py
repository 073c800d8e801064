# SPDX-License-Identifier: LGPL-2.1-or-later
"""cgroup v2 limits, device filter, update/pause/ps/events on a pure v2 host.

Runs in the test VM (tests/vm/run-tests.sh, started by tests/run), whose
/sys/fs/cgroup is cgroup2 with every controller delegated from the root;
skips elsewhere. The env fixture (conftest.py) checks after each test that
no cgroup is left.
"""

import json
import pathlib
import subprocess
import time

import pytest

CG = pathlib.Path("/sys/fs/cgroup")
CGROUP2_SUPER_MAGIC = 0x63677270
MiB = 1024 * 1024


def is_cgroup2(path):
    try:
        out = subprocess.run(["stat", "-f", "-c", "%t", str(path)], capture_output=True,
                             text=True, check=True).stdout
        return int(out.strip(), 16) == CGROUP2_SUPER_MAGIC
    except (OSError, ValueError, subprocess.CalledProcessError):
        return False


pytestmark = pytest.mark.skipif(not is_cgroup2(CG), reason="/sys/fs/cgroup is not cgroup2")


@pytest.fixture(scope="session")
def rootfs_template(session_dir):
    """A busybox tree made without a process per applet (every exec is slow under TCG)."""
    from conftest import busybox_tree
    return busybox_tree(session_dir / "rootfs-v2")


@pytest.fixture(scope="module")
def nullb():
    """(major, minor) of a null_blk device, for io.max and the device filter."""
    if not pathlib.Path("/sys/block/nullb0").exists():
        subprocess.run(["modprobe", "null_blk", "nr_devices=1"], capture_output=True)
    try:
        maj, mnr = pathlib.Path("/sys/block/nullb0/dev").read_text().strip().split(":")
    except OSError:
        pytest.skip("no null_blk device")
    return int(maj), int(mnr)


def cgpath(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return CG / line.strip()[3:].lstrip("/")
    raise AssertionError("no cgroup")


def rd(p, name):
    return (p / name).read_text().strip()


def add_caps(env, *caps):
    c = env.process.setdefault("capabilities", {})
    for k in ("bounding", "effective", "permitted"):
        c[k] = sorted(set(c.get(k, [])) | set(caps))


def start(env, script="sleep 1000", resources=None):
    if resources is not None:
        env.linux["resources"] = resources
    cid, _ = env.create(["sh", "-c", script])
    env.start(cid)
    pid = env.state(cid)["pid"]
    return cid, pid, cgpath(pid)


def test_memory_max_oom_and_event(env):
    env.linux["resources"] = {"memory": {"limit": 32 * MiB, "swap": 32 * MiB,
                                         "reservation": 16 * MiB}}
    cid, _ = env.create(["sh", "-c", "sleep 1; x=a; while true; do x=$x$x; done"])
    p = cgpath(env.state(cid)["pid"])
    assert rd(p, "memory.max") == str(32 * MiB)
    assert rd(p, "memory.low") == str(16 * MiB)
    assert rd(p, "memory.swap.max") == "0"  # v1 swap counts memory too
    ev = env.popen("events", "--interval", "30s", cid)
    time.sleep(0.3)
    env.start(cid)
    env.wait_status(cid, "stopped", timeout=120)
    env.delete(cid)  # events ends once the container is deleted
    r = ev.wait(timeout=120)
    assert r.rc == 0, r
    assert {"type": "oom", "id": cid} in [json.loads(l) for l in r.out.splitlines()], r


def test_tiny_memory_limit_still_runs(env):
    env.linux["resources"] = {"memory": {"limit": 512 * 1024}}
    r = env.run(["echo", "it works"], timeout=60)
    assert r.rc == 0 and r.out == "it works\n", r


def test_pids_max(env):
    env.linux["resources"] = {"pids": {"limit": 4}}
    cid, pid, p = start(env, "sleep 1000")
    assert rd(p, "pids.max") == "4"
    env.delete(cid, force=True)
    r = env.sh("for i in 1 2 3 4 5 6; do sleep 5 & done; echo all forked", timeout=60)
    assert r.rc != 0 and "all forked" not in r.out, r
    assert "can't fork" in r.err or "Resource temporarily unavailable" in r.err, r


def test_cpu_cpuset_values(env):
    res = {"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 10000, "idle": 0,
                   "cpus": "0", "mems": "0"}}
    cid, pid, p = start(env, resources=res)
    assert rd(p, "cpu.weight") == str(1 + (1024 - 2) * 9999 // 262142)
    assert rd(p, "cpu.max") == "50000 100000"
    assert rd(p, "cpu.max.burst") == "10000"
    assert rd(p, "cpuset.cpus") == "0"
    assert rd(p, "cpuset.mems") == "0"
    # the parents delegate what the container uses
    for ctrl in ("cpu", "cpuset", "memory", "pids", "io"):
        assert ctrl in rd(p.parent, "cgroup.subtree_control").split(), ctrl


def test_io_values(env, nullb):
    maj, mnr = nullb
    res = {"blockIO": {"weight": 500,
                       "throttleReadBpsDevice": [{"major": maj, "minor": mnr, "rate": MiB}],
                       "throttleWriteIOPSDevice": [{"major": maj, "minor": mnr, "rate": 100}]}}
    cid, pid, p = start(env, resources=res)
    io_max = rd(p, "io.max")
    assert f"{maj}:{mnr} rbps={MiB} wbps=max riops=max wiops=100" in io_max, io_max
    if (p / "io.bfq.weight").exists():
        assert "default 500" in rd(p, "io.bfq.weight")
    else:
        assert rd(p, "io.weight").startswith(f"default {1 + (500 - 10) * 9999 // 990}")


def test_unified_and_refusals(env):
    cid, pid, p = start(env, resources={"unified": {"memory.high": "50000000",
                                                    "pids.max": "9"}})
    assert rd(p, "memory.high") == "49999872"  # page-aligned by the kernel
    assert rd(p, "pids.max") == "9"
    env.delete(cid, force=True)
    cases = [
        ({"unified": {"memory.nosuch": "1"}}, "memory.nosuch"),
        ({"memory": {"limit": 64 * MiB, "swappiness": 10}}, "swappiness"),
        ({"memory": {"limit": 64 * MiB, "disableOOMKiller": True}}, "disableOOMKiller"),
        ({"cpu": {"cpus": "999"}}, "cpuset.cpus"),
        ({"memory": {"limit": 64 * MiB, "swap": 32 * MiB}}, "memory.swap"),
        ({"cpu": {"realtimeRuntime": 1000}}, "realtime"),
    ]
    for res, needle in cases:
        env.linux["resources"] = res
        cid, r = env.create(["true"], check=False)
        assert r.rc == 1 and needle in r.err, (res, r)
    assert env.container_ids() == []


def test_cgroups_path_relative_and_absolute(env):
    env.linux["cgroupsPath"] = f"{env.new_id()}-rel/c"
    cid, pid, p = start(env)
    assert str(p).startswith(str(CG / "berth")), p
    env.delete(cid, force=True)
    assert not p.exists()
    env.linux["cgroupsPath"] = f"/{env.new_id()}-abs/c"
    env.linux["resources"] = {"pids": {"limit": 10}}
    cid, pid, p = start(env)
    assert p == CG / env.linux["cgroupsPath"].lstrip("/")
    assert rd(p, "pids.max") == "10"
    env.delete(cid, force=True)
    assert not p.exists() and not p.parent.exists()


def denied(out):
    return "Operation not permitted" in out or "Permission denied" in out


def test_devices_ebpf(env, nullb):
    maj, mnr = nullb
    add_caps(env, "CAP_MKNOD")
    script = (f"rm -f /dev/tb; mknod /dev/tb b {maj} {mnr} && dd if=/dev/tb of=/dev/null count=1 2>&1;"
              " echo rc=$?; echo x > /dev/null && echo null-ok")
    env.linux["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    r = env.sh(script, timeout=60)
    assert denied(r.out) and "rc=1" in r.out and "null-ok" in r.out, r
    env.linux["resources"] = {"devices": [{"allow": False, "access": "rwm"},
                                          {"allow": True, "type": "b", "major": maj,
                                           "minor": mnr, "access": "r"}]}
    r = env.sh(script, timeout=60)
    assert "rc=0" in r.out and "null-ok" in r.out, r
    # last match wins: a later deny takes the device away again
    env.linux["resources"]["devices"].append({"allow": False, "type": "b", "access": "r"})
    r = env.sh(script, timeout=60)
    assert denied(r.out), r


def read_counter(env):
    try:
        return int((env.rootfs / "count").read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return -1


def wait_counter_above(env, n, timeout=30.0):
    deadline = time.monotonic() + timeout
    while read_counter(env) <= n:
        assert time.monotonic() < deadline, f"counter stuck at {read_counter(env)}"
        time.sleep(0.1)


def test_update_pause_ps_events(env):
    cid, pid, p = start(env, "i=0; while true; do i=$((i+1)); echo $i > /c.tmp; mv /c.tmp /count; done",
                        resources={"memory": {"limit": 64 * MiB}, "pids": {"limit": 20}})
    env.berth("update", "--memory", "100m", "--pids-limit", "30", cid, check=True)
    assert rd(p, "memory.max") == str(100 * MiB)
    assert rd(p, "pids.max") == "30"
    env.berth("update", "-r", "-", cid, input='{"memory": {"limit": 134217728, "swap": '
              '268435456, "reservation": 0}, "cpu": {"shares": 2048, "quota": 0}}', check=True)
    assert rd(p, "memory.max") == "134217728"
    assert rd(p, "memory.swap.max") == "134217728"
    assert rd(p, "cpu.weight") == str(1 + (2048 - 2) * 9999 // 262142)

    wait_counter_above(env, 0)
    env.berth("pause", cid, check=True)
    assert env.state(cid)["status"] == "paused"
    assert "frozen 1" in rd(p, "cgroup.events")
    a = read_counter(env)
    time.sleep(1)
    assert read_counter(env) == a
    pids = json.loads(env.berth("ps", "--format", "json", cid, check=True).out)
    assert pid in pids
    env.berth("resume", cid, check=True)
    assert env.state(cid)["status"] == "running"
    wait_counter_above(env, a)

    r = env.berth("events", "--stats", cid, check=True)
    d = json.loads(r.out)["data"]
    assert d["cpu"]["usage"]["total"] > 0 and d["cpu"]["usage"]["user"] > 0
    assert d["memory"]["usage"]["usage"] > 0 and d["memory"]["usage"]["limit"] == 134217728
    assert "anon" in d["memory"]["raw"]
    assert d["pids"]["current"] >= 1 and d["pids"]["limit"] == 30


def test_cgroup_namespace_and_mount_show_own_cgroup(env):
    env.set_ns("cgroup")
    env.remove_mount("/sys/fs/cgroup")
    env.add_mount("/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "ro"])
    env.linux["resources"] = {"pids": {"limit": 17}}
    r = env.sh("cat /proc/self/cgroup; cat /sys/fs/cgroup/pids.max; "
               "grep -c . /sys/fs/cgroup/cgroup.procs", timeout=60)
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0] == "0::/", r.out
    assert lines[1] == "17", r.out  # the mount's root is the container's own cgroup
    assert int(lines[2]) >= 1, r.out
