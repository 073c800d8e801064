# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs last (files are collected in name order): nothing the session started
may be left on the host: mounts, cgroups, state dirs, processes, network
leases, interfaces named after the session or nftables rules naming them."""

import os

from conftest import (BASE, TOKEN, cgroups_matching, marked_processes, mounts_under,
                      network_leaks, state_dirs)


def test_session_left_nothing_behind():
    problems = []
    problems += [f"mount: {m}" for m in mounts_under(BASE)]
    problems += [f"process: {p}" for p in marked_processes(TOKEN + ":", BASE)]
    problems += [f"cgroup: {c}" for c in cgroups_matching(TOKEN)]
    roots = []
    if BASE.exists():
        for t in BASE.iterdir():
            if (t / "state").exists():
                problems += [f"state dir: {s}" for s in state_dirs(t / "state")]
                roots.append(t / "state")
    problems += network_leaks([TOKEN], roots)
    assert not problems, "leaked by the test session:\n" + "\n".join(problems)


def test_no_berth_cgroups_at_all_on_ci():
    """On CI nothing but this suite runs berth: no cgroup named after berth may
    remain anywhere (the default parent berth/ included). On a developer's
    machine other work may hold some, so only the session's own are checked above."""
    if os.environ.get("CI") != "true":
        import pytest

        pytest.skip("only on CI, where the machine runs nothing else")
    left = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        depth = top.count("/") - "/sys/fs/cgroup".count("/")
        if depth >= 4:
            dirs[:] = []
            continue
        left += [os.path.join(top, d) for d in dirs if "berth" in d]
    assert not left, "cgroups left behind:\n" + "\n".join(left)
