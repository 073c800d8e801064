# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs last (files are collected in name order): nothing the session started
may be left on the host: mounts, cgroups, state dirs or processes."""

import os

from conftest import BASE, TOKEN, mounts_under, marked_processes, cgroups_matching, state_dirs


def test_session_left_nothing_behind():
    problems = []
    problems += [f"mount: {m}" for m in mounts_under(BASE)]
    problems += [f"process: {p}" for p in marked_processes(TOKEN + ":", BASE)]
    problems += [f"cgroup: {c}" for c in cgroups_matching(TOKEN)]
    if BASE.exists():
        for t in BASE.iterdir():
            if (t / "state").exists():
                problems += [f"state dir: {s}" for s in state_dirs(t / "state")]
    assert not problems, "leaked by the test session:\n" + "\n".join(problems)
