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


def test_host_device_nodes_untouched():
    """The host's /dev/null and its kin as a Debian system makes them: char devices,
    root's, mode 0666. A bind of one of them into a container, or a test writing a
    rootfs path that leads to one, must never change the host's node (once, during
    development, the host's /dev/null was found 0755, its cause unknown)."""
    import stat
    want = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
            "urandom": (1, 9)}
    wrong = []
    for name, (major, minor) in want.items():
        st = os.lstat(f"/dev/{name}")
        got = (stat.S_ISCHR(st.st_mode), os.major(st.st_rdev), os.minor(st.st_rdev),
               stat.S_IMODE(st.st_mode), st.st_uid)
        if got != (True, major, minor, 0o666, 0):
            wrong.append(f"/dev/{name}: {stat.filemode(st.st_mode)} {oct(stat.S_IMODE(st.st_mode))} "
                         f"uid {st.st_uid} {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}")
    assert not wrong, "host device nodes changed:\n" + "\n".join(wrong)
