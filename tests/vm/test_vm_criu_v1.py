# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth checkpoint / berth restore on cgroup v1 and on the hybrid layout, in the test VM.

run-in-vm.sh --cgroup v1 (one v1 hierarchy per controller and name=systemd) or
--cgroup hybrid (the same plus cgroup2 at /sys/fs/cgroup/unified). A counter
with memory, pids and cpu limits goes through checkpoint, delete and restore;
its limits (read from inside and from the host), the cgroup of its init in
every hierarchy, and what is left afterwards are compared with the container
before, with a freshly created one, and with runc doing the same. Skips
outside the VM, without criu, or on a host without v1 hierarchies.
"""

import os
import time

import pytest

from test_vm_criu import (BERTH, CG, RUNC, Box, berth_cgroups, drain, pytestmark,  # noqa: F401
                          read_numbers, rootfs)

V1 = (CG / "memory" / "memory.limit_in_bytes").exists()
HYBRID = V1 and (CG / "unified" / "cgroup.procs").exists()
v1_only = pytest.mark.skipif(not V1, reason="no cgroup v1 hierarchies (run-in-vm.sh --cgroup v1|hybrid)")

MIB = 1024 * 1024
RESOURCES = {"memory": {"limit": 64 * MIB}, "pids": {"limit": 50},
             "cpu": {"shares": 512, "quota": 50000, "period": 100000}}
# (hierarchy, file): the limits, as /sys/fs/cgroup/<hierarchy>/... has them
LIMIT_FILES = [("memory", "memory.limit_in_bytes"), ("pids", "pids.max"),
               ("cpu", "cpu.shares"), ("cpu", "cpu.cfs_quota_us"), ("cpu", "cpu.cfs_period_us")]


def proc_cgroups(pid):
    """/proc/PID/cgroup as {hierarchy: path}; "unified" for cgroup2's 0:: line."""
    out = {}
    for line in open(f"/proc/{pid}/cgroup").read().splitlines():
        _, ctrls, path = line.split(":", 2)
        out[ctrls or "unified"] = path
    return out


def host_dir(hierarchy, path):
    name = hierarchy.removeprefix("name=")
    return CG / name / path.lstrip("/")


def host_limits(pid):
    """The limits of PID's cgroups, read on the host."""
    cgs = {}
    for h, p in proc_cgroups(pid).items():
        for c in h.split(","):
            cgs[c] = host_dir(h, p)
    return {f: (cgs[h] / f).read_text().strip() for h, f in LIMIT_FILES}


def inside_limits(b, cid):
    """The limits as the container reads them (its /sys/fs/cgroup)."""
    script = "; ".join(f"cat /sys/fs/cgroup/{h}/{f}" for h, f in LIMIT_FILES)
    rc, out, err = b.cmd("exec", cid, "sh", "-c", script)
    assert rc == 0, f"{b.runtime} exec: {err}"
    return dict(zip((f for _, f in LIMIT_FILES), out.split()))


def pid_of(b, cid):
    pid = b.state(cid)["pid"]
    b.pids.append(pid)
    return pid


def in_own_cgroup_everywhere(pid, cid):
    """PID is in a cgroup named after cid in every hierarchy (name=systemd and unified too)."""
    cgs = proc_cgroups(pid)
    assert "name=systemd" in cgs, cgs
    if HYBRID:
        assert "unified" in cgs, cgs
    wrong = {h: p for h, p in cgs.items() if not p.endswith("/" + cid)}
    assert not wrong, f"not in the container's cgroup: {wrong}"
    return cgs


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie of ours is gone for this purpose
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def cgroups_of(b):
    """The cgroups named after the box's containers, in every hierarchy."""
    return [p for p in berth_cgroups() if os.path.basename(p) in b.ids]


def no_leftovers(b):
    """No cgroup in any hierarchy, no state dir, no process of the box is left."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (cgroups_of(b) or not all(gone(p) for p in b.pids)):
        time.sleep(0.05)
    assert cgroups_of(b) == [], "cgroups left behind"
    assert [p for p in b.pids if not gone(p)] == [], "processes left behind"
    left = sorted(os.listdir(b.root)) if b.root.exists() else []
    assert [c for c in left if c in b.ids] == [], "state dirs left behind"


def make_box(rootfs, runtime):
    b = Box(rootfs, runtime)
    b.pids = []
    b.cfg["linux"]["resources"] = json_copy(RESOURCES)
    return b


def json_copy(v):
    return {k: dict(x) for k, x in v.items()}


def boxed(rootfs, runtime):
    b = make_box(rootfs, runtime)
    try:
        yield b
        for cid in b.ids:
            b.cmd("delete", "--force", cid)
        no_leftovers(b)
    finally:
        b.cleanup()


@pytest.fixture
def box(rootfs):
    yield from boxed(rootfs, BERTH)


@pytest.fixture
def runc_box(rootfs):
    if not RUNC:
        pytest.skip("runc is not installed")
    yield from boxed(rootfs, RUNC)


def round_trip(b, *modes):
    """Start the counter, checkpoint, delete, restore: (id, init pid before, after)."""
    cid, r = b.start()
    before = read_numbers(r, want=3)
    assert before, "the counter printed nothing"
    pid0 = pid_of(b, cid)
    cgs0 = proc_cgroups(pid0)
    lim0 = host_limits(pid0)
    b.cmd("checkpoint", *modes, "--image-path", b.img, cid, check=True)
    if b.runtime == BERTH:
        assert b.state(cid)["status"] == "stopped"
        b.cmd("delete", cid, check=True)
    before += drain(r)
    r2, _, _ = b.restore(cid, *modes)
    assert b.state(cid)["status"] == "running"
    after = read_numbers(r2, want=3)
    assert after and after[0] == before[-1] + 1, (before[-3:], after[:3])
    pid1 = pid_of(b, cid)
    return cid, (cgs0, lim0), (proc_cgroups(pid1), host_limits(pid1), pid1)


@v1_only
def test_limits_and_cgroups_survive_as_with_runc(box, runc_box):
    cid, (cgs0, lim0), (cgs1, lim1, pid1) = round_trip(box)
    want = {"memory.limit_in_bytes": str(64 * MIB), "pids.max": "50", "cpu.shares": "512",
            "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000"}
    assert lim0 == want
    assert lim1 == lim0
    assert inside_limits(box, cid) == want
    # the restored init is where the container's was, in every hierarchy
    assert cgs1 == cgs0
    in_own_cgroup_everywhere(pid1, cid)
    # and where a freshly created container's init is
    fresh, _ = box.start()
    cgs_fresh = in_own_cgroup_everywhere(pid_of(box, fresh), fresh)
    assert {h: p.replace(fresh, cid) for h, p in cgs_fresh.items()} == cgs1
    box.cmd("delete", "--force", fresh, check=True)

    rcid, (_, rlim0), (rcgs1, rlim1, rpid1) = round_trip(runc_box)
    assert rlim0 == rlim1 == lim1
    assert inside_limits(runc_box, rcid) == want
    assert sorted(rcgs1) == sorted(cgs1), "runc's init is in other hierarchies"


@v1_only
def test_leave_running_then_a_new_id_with_the_config_limits(box):
    cid, r = box.start()
    read_numbers(r, want=3)
    pid0 = pid_of(box, cid)
    box.cmd("checkpoint", "--leave-running", "--image-path", box.img, cid, check=True)
    assert box.state(cid)["status"] == "running"
    assert read_numbers(r, want=3), "the counter stopped"
    assert host_limits(pid0)["memory.limit_in_bytes"] == str(64 * MIB)
    # a new ID beside the running original: its own cgroups, the limits of the config now
    box.cfg["linux"]["resources"]["memory"]["limit"] = 96 * MIB
    box.cfg["linux"]["resources"]["pids"]["limit"] = 40
    box.save()
    new = box.new_id()
    r2, _, _ = box.restore(new)
    assert read_numbers(r2, want=3)
    pid1 = pid_of(box, new)
    in_own_cgroup_everywhere(pid1, new)
    in_own_cgroup_everywhere(pid0, cid)
    lim = host_limits(pid1)
    assert lim["memory.limit_in_bytes"] == str(96 * MIB) and lim["pids.max"] == "40", lim
    assert inside_limits(box, new)["pids.max"] == "40"
    assert host_limits(pid0)["memory.limit_in_bytes"] == str(64 * MIB)
    assert box.state(cid)["status"] == "running"
    # the original goes, the restored one runs on
    box.cmd("delete", "--force", cid, check=True)
    assert read_numbers(r2, want=2)
    box.cmd("delete", "--force", new, check=True)


@v1_only
@pytest.mark.parametrize("mode", ["ignore", "soft", "full", "strict"])
def test_manage_cgroups_mode_as_runc(box, runc_box, mode):
    results = {}
    for b in (runc_box, box):
        try:
            cid, _, (cgs1, lim1, pid1) = round_trip(b, "--manage-cgroups-mode", mode)
        except AssertionError as e:
            results[b.runtime] = f"failed: {e}"
            continue
        results[b.runtime] = "ok"
        if b.runtime == BERTH:
            in_own_cgroup_everywhere(pid1, cid)
            assert lim1["memory.limit_in_bytes"] == str(64 * MIB), lim1
    print(f"\n--manage-cgroups-mode {mode}: {results}")
    assert results[BERTH] == "ok" or results[RUNC] != "ok", results


@v1_only
def test_invalid_manage_cgroups_mode_fails_in_one_line(box):
    cid, r = box.start()
    read_numbers(r, want=2)
    rc, _, err = box.cmd("checkpoint", "--manage-cgroups-mode", "bogus", "--image-path",
                         box.img, cid)
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "bogus" in err, err
    assert box.state(cid)["status"] == "running"
    box.cmd("checkpoint", "--image-path", box.img, cid, check=True)
    box.cmd("delete", cid, check=True)
    before = berth_cgroups()
    _, rc, err = box.restore(cid, "--manage-cgroups-mode", "bogus", check=False)
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "bogus" in err, err
    assert not (box.root / cid).exists()
    assert berth_cgroups() == before
