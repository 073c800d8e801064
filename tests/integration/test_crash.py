# SPDX-License-Identifier: LGPL-2.1-or-later
"""`berth create` killed at any instant: strace kills berth (not its children) at
every system call it makes during a create, one run per call. Afterwards `list`
shows what is left, `berth delete -f ID` removes everything (state dir, cgroups
in every hierarchy, processes, mounts; with berth.net.*, the veth, the lease
and the nftables rules), and the same ID can be created again."""

import collections
import os
import re
import shutil
import subprocess

import pytest

from conftest import BERTH, cgroups_matching, marked_processes, mounts_under, traced_env
from test_net import all_berth_veths, links_on, net_env, nets, wait_links_gone  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")

SYSCALL = re.compile(r"^(?:\d+ +)?([a-z0-9_]+)\(")


def syscalls_of_create(env, cid):
    """(name, n): the n-th call of name, for every call a whole create makes."""
    trace = env.dir / "create.strace"
    argv = ["strace", "-qq", "-o", str(trace), str(env.berth_binary), "--root", str(env.root),
            "create", "-b", str(env.bundle), cid]
    # output to a file: the waiting init inherits it
    with open(env.dir / "create.out", "w") as out:
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                            timeout=60, env=traced_env(env.mark))
    assert cp.returncode == 0, (env.dir / "create.out").read_text()
    env.delete(cid, force=True)
    seen = collections.Counter()
    points = []
    for line in trace.read_text().splitlines():
        m = SYSCALL.match(line)
        if not m or m.group(1) in ("exit_group", "exit"):
            continue
        seen[m.group(1)] += 1
        points.append((m.group(1), seen[m.group(1)]))
    return points


def kill_create_at(env, cid, name, n):
    argv = ["strace", "-qq", "-o", "/dev/null", "-e", f"trace={name}",
            "-e", f"inject={name}:signal=KILL:when={n}", str(env.berth_binary),
            "--root", str(env.root), "create", "-b", str(env.bundle), cid]
    with open(env.dir / "killed.out", "w") as out:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                              timeout=60, env=traced_env(env.mark)).returncode


def leftovers(env, cid):
    left = []
    if (env.root / cid).exists():
        left.append(f"state dir {env.root / cid}")
    left += [f"cgroup {c}" for c in cgroups_matching(cid)]
    left += [f"mount {m}" for m in mounts_under(env.dir)]
    left += [f"process {p}" for p in marked_processes(env.mark, env.dir)]
    return left


def default_parents():
    """berth's default parent cgroup (berth/) in each hierarchy it exists in."""
    tops = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
    tops += [os.path.join("/sys/fs/cgroup", c) for c in os.listdir("/sys/fs/cgroup")]
    return {os.path.join(t, "berth") for t in tops if os.path.isdir(os.path.join(t, "berth"))}


def crash_everywhere(env, points, check_extra=None):
    problems = []
    # made and removed by every create and delete here, unless something else
    # on this machine holds containers under it
    had_parents = default_parents()
    for i, (name, n) in enumerate(points):
        cid = f"{env.new_id()}-{name}-{n}"
        rc = kill_create_at(env, cid, name, n)
        where = f"killed at {name} #{n} (rc {rc})"
        if (env.root / cid).exists():
            # a half-made container is listed, and its state can be read
            ids = env.berth("list", "-q").out.split()
            if cid not in ids:
                problems.append(f"{where}: list does not show it")
            st = env.berth("state", cid)
            if st.rc != 0:
                problems.append(f"{where}: state fails: {st.err.strip()}")
        r = env.berth("delete", "--force", cid)
        if r.rc != 0:
            problems.append(f"{where}: delete -f failed: {r.err.strip()}")
        left = leftovers(env, cid)
        left += [f"parent cgroup {p}" for p in default_parents() - had_parents]
        if check_extra:
            left += check_extra()
        if left:
            problems.append(f"{where}: left {left}")
        # the ID is free again (every few points, to keep the test short)
        if i % 8 == 0:
            r = env.berth("create", "-b", env.bundle, cid)
            if r.rc != 0:
                problems.append(f"{where}: create again failed: {r.err.strip()}")
            env.berth("delete", "--force", cid)
        if len(problems) > 10:
            break
    return problems


def prepare(env):
    env.berth_binary = BERTH
    env.process["args"] = ["sleep", "30"]
    env.save()


def test_create_killed_at_every_syscall_leaves_nothing_after_delete(env):
    prepare(env)
    points = syscalls_of_create(env, env.new_id())
    assert len(points) > 50, points
    problems = crash_everywhere(env, points)
    assert not problems, "\n".join(problems)


def test_create_with_network_killed_anywhere_leaves_nothing(env, nets):
    br, pfx = nets.bridge()
    net_env(env, br, pfx)
    prepare(env)
    points = syscalls_of_create(env, env.new_id())
    lease_dir = env.root / ".net"

    def net_left():
        left = [f"veth on {br}: {l}" for l in wait_links_gone(br, timeout=3.0)]
        if lease_dir.exists():
            for f in lease_dir.glob("*.leases"):
                if f.read_text().strip():
                    left.append(f"lease {f}: {f.read_text().strip()}")
        if shutil.which("nft"):
            rules = subprocess.run(["nft", "list", "table", "ip", "berth"],
                                   capture_output=True, text=True).stdout
            if f"{pfx}." in rules:
                left.append(f"nftables rule for {pfx}.0/24")
        return left

    # every other point: the network variant is slower (a veth per try)
    problems = crash_everywhere(env, points[::2], net_left)
    assert not problems, "\n".join(problems)
