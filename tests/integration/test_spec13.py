# SPDX-License-Identifier: LGPL-2.1-or-later
"""runtime-spec 1.3.0: linux.memoryPolicy, linux.intelRdt, the poststart rule
(a failing poststart hook fails the start and the container is destroyed),
and what `berth features`, `berth spec` and `berth --version` declare."""

import json
import pathlib

import pytest

SPEC_VERSION = "1.3.0"
NODE_SYSFS = pathlib.Path("/sys/devices/system/node")


def host_memory_nodes():
    """Node numbers with memory, from the same file berth reads."""
    f = NODE_SYSFS / "has_memory"
    if not f.exists():
        f = NODE_SYSFS / "online"
    nodes = set()
    for part in f.read_text().strip().split(","):
        if part:
            lo, _, hi = part.partition("-")
            nodes.update(range(int(lo), int(hi or lo) + 1))
    return sorted(nodes)


def task_policy(r):
    """The policy column of the first line of /proc/self/numa_maps inside the
    container: the task's policy for a mapping without one of its own."""
    assert r.rc == 0, r
    return r.out.split()[1]


needs_numa = pytest.mark.skipif(not (NODE_SYSFS / "online").exists(),
                                reason="kernel without NUMA: no numa_maps to read")

# ---- linux.memoryPolicy ----


@needs_numa
@pytest.mark.parametrize("mode,flags,want", [
    ("MPOL_BIND", [], "bind:{n}"),
    ("MPOL_BIND", ["MPOL_F_STATIC_NODES"], "bind=static:{n}"),
    ("MPOL_INTERLEAVE", [], "interleave:{n}"),
    ("MPOL_PREFERRED", [], "prefer:{n}"),
    ("MPOL_PREFERRED", ["MPOL_F_RELATIVE_NODES"], "prefer=relative:{n}"),
])
def test_memory_policy_seen_inside(env, mode, flags, want):
    node = host_memory_nodes()[0]
    env.linux["memoryPolicy"] = {"mode": mode, "nodes": str(node), "flags": flags}
    r = env.run(["head", "-n", "1", "/proc/self/numa_maps"])
    assert task_policy(r) == want.format(n=node), r


@needs_numa
@pytest.mark.parametrize("mode,want", [("MPOL_LOCAL", "local"), ("MPOL_DEFAULT", "default")])
def test_memory_policy_without_nodes(env, mode, want):
    env.linux["memoryPolicy"] = {"mode": mode, "nodes": ""}
    r = env.run(["head", "-n", "1", "/proc/self/numa_maps"])
    assert task_policy(r) == want, r


@needs_numa
def test_no_memory_policy_leaves_the_default(env):
    r = env.run(["head", "-n", "1", "/proc/self/numa_maps"])
    assert task_policy(r) == "default", r


@needs_numa
def test_memory_policy_reaches_exec(env):
    node = host_memory_nodes()[0]
    env.linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": str(node)}
    cid, _ = env.create(["sleep", "30"])
    env.start(cid)
    r = env.berth("exec", cid, "head", "-n", "1", "/proc/self/numa_maps")
    assert task_policy(r) == f"bind:{node}", r
    env.delete(cid, force=True)


def test_memory_policy_node_not_on_this_host(env):
    """A node the host does not have is refused before anything is made."""
    missing = max(host_memory_nodes() or [0]) + 1
    env.linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": f"0-{missing}"}
    r = env.run(["true"])
    assert r.rc != 0, r
    assert (f"config.json: linux.memoryPolicy.nodes: node {missing} of \"0-{missing}\" "
            "is not a memory node of this host") in r.err, r
    assert env.container_ids() == []


@pytest.mark.parametrize("policy,msg", [
    ({"mode": "MPOL_NOPE", "nodes": "0"},
     'config.json: linux.memoryPolicy.mode: unknown memory policy mode "MPOL_NOPE"'),
    ({"nodes": "0"}, "config.json: linux.memoryPolicy.mode: is required"),
    ({"mode": "MPOL_BIND", "nodes": "0-"},
     'config.json: linux.memoryPolicy.nodes: "0-" must be a list of node numbers'),
    ({"mode": "MPOL_BIND", "nodes": "3-1"},
     'config.json: linux.memoryPolicy.nodes: "3-1" must be a list of node numbers'),
    ({"mode": "MPOL_BIND", "nodes": "4096"},
     'config.json: linux.memoryPolicy.nodes: "4096" names a node above 4095'),
    ({"mode": "MPOL_BIND", "nodes": ""},
     "config.json: linux.memoryPolicy.nodes: MPOL_BIND needs at least one node"),
    ({"mode": "MPOL_LOCAL", "nodes": "0"},
     "config.json: linux.memoryPolicy.nodes: must be empty for MPOL_LOCAL"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_NOPE"]},
     'config.json: linux.memoryPolicy.flags[0]: unknown memory policy flag "MPOL_F_NOPE"'),
    ({"mode": "MPOL_BIND", "nodes": "0",
      "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]},
     "config.json: linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES "
     "exclude each other"),
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]},
     "config.json: linux.memoryPolicy.flags: MPOL_F_NUMA_BALANCING needs MPOL_BIND or "
     "MPOL_PREFERRED_MANY, not MPOL_INTERLEAVE"),
])
def test_memory_policy_refused(env, policy, msg):
    env.linux["memoryPolicy"] = policy
    r = env.run(["true"])
    assert r.rc != 0, r
    assert msg in r.err, r
    assert env.container_ids() == []


# ---- poststart: a failing hook fails the start (runtime.md, lifecycle step 9) ----


def poststart_fails(env, tmp_path):
    """A first poststart hook that fails, a second that must not run, and a
    poststop hook that records that the lifecycle went on to the destruction."""
    env.add_hook("poststart", "/bin/sh", ["sh", "-c", "echo hook-said-no >&2; exit 3"])
    env.add_hook("poststart", "/bin/sh", ["sh", "-c", f"touch {tmp_path}/second-poststart"])
    env.add_hook("poststop", "/bin/sh", ["sh", "-c", f"cat > {tmp_path}/poststop.json"])


def test_failing_poststart_hook_fails_start_and_destroys(env, tmp_path):
    poststart_fails(env, tmp_path)
    cid, _ = env.create(["sh", "-c", "touch /program-ran; exec sleep 60"])
    r = env.start(cid, check=False)
    assert r.rc == 1, r
    # the hook's stderr goes where berth's does, then berth's one error line
    assert r.err_lines[-1] == (f'berth: start "{cid}": poststart hook "/bin/sh": exited with '
                               "status 3; the container was stopped and deleted"), r
    # the program had been started, then the container was stopped and destroyed
    assert (env.rootfs / "program-ran").exists()
    assert env.container_ids() == []
    assert env.berth("state", cid).rc != 0
    assert not (tmp_path / "second-poststart").exists(), "hooks went on after a failure"
    st = json.loads((tmp_path / "poststop.json").read_text())
    assert (st["id"], st["status"]) == (cid, "stopped"), st
    # an engine deleting it afterwards with --force is not told off
    assert env.delete(cid, force=True, check=False).rc == 0


def test_failing_poststart_hook_fails_run(env, tmp_path):
    poststart_fails(env, tmp_path)
    r = env.run(["sleep", "60"])
    assert r.rc == 1, r
    assert "poststart hook" in r.err and "stopped and deleted" in r.err, r
    assert env.container_ids() == []
    assert (tmp_path / "poststop.json").exists()


def test_failing_poststart_hook_fails_detached_run(env, tmp_path):
    """Under berth-shim (run -d) too: an error, and nothing left (the fixture
    also checks that no shim, process, cgroup or state dir leaked)."""
    poststart_fails(env, tmp_path)
    env.process["args"] = ["sleep", "60"]
    env.save()
    cid = env.new_id()
    r = env.berth("run", "-d", "-b", env.bundle, cid)
    assert r.rc == 1, r
    assert "poststart hook" in r.err, r
    assert env.container_ids() == []
    assert (tmp_path / "poststop.json").exists()


def test_passing_poststart_hook_keeps_the_container(env, tmp_path):
    env.add_hook("poststart", "/bin/sh", ["sh", "-c", f"cat > {tmp_path}/poststart.json"])
    cid, _ = env.create(["sleep", "60"])
    env.start(cid)
    assert env.state(cid)["status"] == "running"
    assert json.loads((tmp_path / "poststart.json").read_text())["status"] == "running"
    env.delete(cid, force=True)


# ---- linux.intelRdt: refused, clearly (no resctrl support in berth) ----


def resctrl_mounted():
    with open("/proc/self/mountinfo") as f:
        return any(" - resctrl " in l for l in f)


@pytest.mark.parametrize("rdt", [
    {"closID": "guaranteed_group", "schemata": ["L3:0=7f0;1=1f", "MB:0=20;1=70"]},
    {"enableMonitoring": True},
    {},
])
def test_intel_rdt_refused(env, rdt):
    """The spec: intelRdt set and no resctrl mounted is an error; berth also
    refuses it where resctrl is mounted, and says which case it is."""
    env.linux["intelRdt"] = rdt
    r = env.run(["true"])
    assert r.rc != 0, r
    if resctrl_mounted():
        assert "linux.intelRdt: resctrl is mounted at" in r.err, r
        assert "berth does not support Intel RDT yet" in r.err, r
    else:
        assert r.err_lines[-1].endswith(": config.json: linux.intelRdt: no resctrl filesystem "
                                        "is mounted, and Intel RDT needs one"), r
    assert env.container_ids() == []


# ---- what berth declares ----


def test_features_declare_1_3(env):
    f = json.loads(env.berth("features", check=True).out)
    assert f["ociVersionMax"] == SPEC_VERSION
    lx = f["linux"]
    assert lx["memoryPolicy"] == {
        "modes": ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                  "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"],
        "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]}
    assert lx["netDevices"] == {"enabled": True}
    assert lx["intelRdt"] == {"enabled": False, "schemata": False, "enableMonitoring": False}


def test_every_declared_memory_policy_name_is_accepted(env):
    """features lists only what the parser knows: each mode and flag passes
    config parsing (the host then decides, e.g. about weighted interleave)."""
    f = json.loads(env.berth("features", check=True).out)["linux"]["memoryPolicy"]
    for mode in f["modes"]:
        nodes = "" if mode in ("MPOL_DEFAULT", "MPOL_LOCAL") else "0"
        env.linux["memoryPolicy"] = {"mode": mode, "nodes": nodes}
        r = env.run(["true"])
        assert "unknown memory policy" not in r.err, r
    for flag in f["flags"]:
        env.linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0", "flags": [flag]}
        r = env.run(["true"])
        assert "unknown memory policy" not in r.err, r


def test_version_spec_and_state_say_1_3(env):
    r = env.berth("--version", root=False, check=True)
    assert "spec: " + SPEC_VERSION in r.out.splitlines(), r
    bundle = env.dir / "spec13"
    bundle.mkdir()
    env.berth("spec", "-b", bundle, check=True)
    assert json.loads((bundle / "config.json").read_text())["ociVersion"] == SPEC_VERSION
    cid, _ = env.create(["true"])
    assert env.state(cid)["ociVersion"] == SPEC_VERSION
    env.delete(cid, force=True)
