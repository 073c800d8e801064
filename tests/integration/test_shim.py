# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth-shim: run -d and create --shim, logs, attach, wait, signals, reaping.

The shim is found next to berth (the build dir). Every container here is
deleted by the test or the env fixture; the fixture's leak check also catches
a shim left running (it carries the test's BERTH_TEST_MARK).
"""

import json
import os
import pty
import re
import select
import signal
import subprocess
import time

import pytest

from conftest import BERTH

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] ")


def shim_pid(env, cid):
    with open(env.root / cid / "shim.pid") as f:
        return int(f.read().split()[0])


def ppid_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def children_of(pid):
    """(pid, state) of every process whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(rest[1]) == pid:
            out.append((int(d), rest[0]))
    return out


def run_d(env, script, id=None, terminal=False, extra=()):
    env.process["terminal"] = terminal
    env.process["args"] = ["sh", "-c", script] if script is not None else ["sh"]
    env.save()
    cid = id or env.new_id()
    r = env.berth("run", "-d", "-b", env.bundle, *extra, cid)
    assert r.rc == 0, r
    return cid


def wait_code(env, cid, timeout=20):
    r = env.berth("wait", cid, timeout=timeout)
    assert r.rc == 0, r
    return int(r.out.strip())


def test_run_detached_logs_wait_delete(env):
    cid = run_d(env, "echo hello; echo oops >&2; printf part; exit 3")
    assert wait_code(env, cid) == 3
    st = env.state(cid)
    assert st["status"] == "stopped"
    assert st["annotations"]["berth.exitCode"] == "3"
    assert st["annotations"]["berth.exitedAt"].endswith("Z")

    lines = (env.root / cid / "container.log").read_text().splitlines()
    assert lines and all(LOG_LINE.match(l) for l in lines), lines
    assert any(l.endswith(" stdout F hello") for l in lines), lines
    assert any(l.endswith(" stderr F oops") for l in lines), lines
    assert any(l.endswith(" stdout P part") for l in lines), lines

    r = env.berth("logs", cid, check=True)
    # stdout and stderr interleave in arrival order; "part" has no newline
    assert "hello\n" in r.out and "oops" in r.out and "part" in r.out and "part\n" not in r.out

    pid = shim_pid(env, cid)
    assert not os.path.exists(f"/proc/{pid}/status") or \
        "State:\tZ" in open(f"/proc/{pid}/status").read()
    env.delete(cid)
    assert not (env.root / cid).exists()


def test_logs_tail_and_follow(env):
    cid = run_d(env, "for i in 1 2 3 4 5; do echo line$i; done; sleep 1; echo line6")
    deadline = time.monotonic() + 5
    while "line5" not in env.berth("logs", cid).out and time.monotonic() < deadline:
        time.sleep(0.05)
    r = env.berth("logs", "--tail", "2", cid, check=True)
    assert r.out == "line4\nline5\n"
    # -f returns once the container is gone, with everything it wrote
    r = env.berth("logs", "-f", cid, check=True, timeout=15)
    assert r.out == "".join(f"line{i}\n" for i in range(1, 7))
    assert wait_code(env, cid) == 0
    env.delete(cid)


def test_wait_unknown(env):
    r = env.berth("wait", "nosuch")
    assert r.rc == 1 and "does not exist" in r.err
    # a container without a shim: its exit code is unknown
    cid, _ = env.create(["true"])
    env.start(cid)
    env.wait_status(cid, "stopped")
    r = env.berth("wait", cid)
    assert r.rc == 1 and "berth-shim" in r.err, r
    r = env.berth("logs", cid)
    assert r.rc == 1 and "berth-shim" in r.err, r
    env.delete(cid)


def test_signals_forwarded_and_kill(env):
    cid = run_d(env, "trap 'exit 7' TERM; echo up; while :; do sleep 0.05; done")
    deadline = time.monotonic() + 5
    while "up" not in env.berth("logs", cid).out and time.monotonic() < deadline:
        time.sleep(0.05)
    # SIGTERM to the shim goes to the container's init
    os.kill(shim_pid(env, cid), signal.SIGTERM)
    assert wait_code(env, cid) == 7
    env.delete(cid)

    cid = run_d(env, "sleep 100")
    assert env.state(cid)["status"] == "running"
    r = env.delete(cid, check=False)
    assert r.rc == 1 and "running" in r.err
    env.kill(cid, "KILL")
    assert wait_code(env, cid) == 128 + 9
    env.delete(cid)


def test_shim_is_parent_and_reaps_orphans(env):
    # no pid namespace: orphans of the container are reparented to the shim (subreaper)
    env.remove_ns("pid")
    cid = run_d(env, "sh -c 'sleep 1000 & exit 0'; sleep 30")
    shim = shim_pid(env, cid)
    init = env.state(cid)["pid"]
    assert ppid_of(init) == shim
    deadline = time.monotonic() + 10
    while True:
        kids = dict(children_of(shim))
        orphans = [p for p in kids if p != init]
        if orphans or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert init in kids
    assert orphans, f"no orphan reparented to the shim: {kids}"
    for p in orphans:
        os.kill(p, signal.SIGKILL)
    # the orphan died and the shim reaped it: no zombie child of the shim
    deadline = time.monotonic() + 10
    while any(p in dict(children_of(shim)) for p in orphans):
        assert time.monotonic() < deadline, f"orphans not reaped: {children_of(shim)}"
        time.sleep(0.05)
    assert [p for p, s in children_of(shim) if s == "Z"] == []

    # a small, detached process: own session, cwd /, only its own fds
    with open(f"/proc/{shim}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    assert int(fields[3]) == shim  # session id
    assert os.readlink(f"/proc/{shim}/cwd") == "/"
    fds = sorted(int(x) for x in os.listdir(f"/proc/{shim}/fd"))
    targets = [os.readlink(f"/proc/{shim}/fd/{x}") for x in fds]
    assert len(fds) <= 12, targets
    assert not any(str(env.bundle) in t for t in targets), targets
    env.kill(cid, "KILL")
    assert wait_code(env, cid) == 137
    env.delete(cid)


def test_create_shim_then_start(env):
    env.process["args"] = ["sh", "-c", "echo started; exit 5"]
    cid, _ = env.create(extra=["--shim"])
    assert env.state(cid)["status"] == "created"
    shim = shim_pid(env, cid)
    assert ppid_of(env.state(cid)["pid"]) == shim
    env.start(cid)
    assert wait_code(env, cid) == 5
    assert env.berth("logs", cid, check=True).out == "started\n"
    env.delete(cid)


def test_create_shim_failure_leaves_nothing(env):
    env.process["args"] = ["/nonexistent"]
    env.save()
    cid = env.new_id()
    r = env.berth("run", "-d", "-b", env.bundle, cid)
    assert r.rc == 1 and "nonexistent" in r.err, r
    assert not (env.root / cid).exists()
    env.cfg["root"]["path"] = "nosuchdir"
    env.save()
    r = env.berth("run", "-d", "-b", env.bundle, cid)
    assert r.rc == 1 and "root.path" in r.err, r
    assert not (env.root / cid).exists()


def _read_until(fd, needle, timeout=10):
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not seen in {buf!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def _attach_in_pty(env, cid):
    master, slave = pty.openpty()
    p = subprocess.Popen([BERTH, "--root", str(env.root), "attach", cid], stdin=slave,
                         stdout=slave, stderr=slave, env=dict(os.environ, BERTH_TEST_MARK=env.mark),
                         start_new_session=True)
    os.close(slave)
    return p, master


def test_attach_terminal_and_detach(env):
    cid = run_d(env, None, terminal=True)
    p, m = _attach_in_pty(env, cid)
    try:
        time.sleep(0.3)
        os.write(m, b"echo hi-$((40+2))\r")
        _read_until(m, b"hi-42")
        os.write(m, b"stty size\r")
        out = _read_until(m, b"\n", timeout=5)
        # detach: Ctrl-P Ctrl-Q; the container goes on
        os.write(m, b"\x10\x11")
        rc = p.wait(timeout=10)
        assert rc == 0, _read_until(m, b"berth", timeout=1)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(m)
    assert env.state(cid)["status"] == "running"
    log = env.berth("logs", cid, check=True).out
    assert "hi-42" in log
    # attach again and end the shell: attach ends with the container
    p, m = _attach_in_pty(env, cid)
    try:
        time.sleep(0.3)
        os.write(m, b"exit 4\r")
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(m)
    assert wait_code(env, cid) == 4
    env.delete(cid)


def test_attach_pipes(env):
    cid = run_d(env, "read line; echo got:$line; exit 0")
    p = subprocess.Popen([BERTH, "--root", str(env.root), "attach", cid],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=dict(os.environ, BERTH_TEST_MARK=env.mark))
    try:
        time.sleep(0.3)
        out, err = p.communicate(b"abc\n", timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert b"got:abc" in out
    assert wait_code(env, cid) == 0
    r = env.berth("attach", cid)
    assert r.rc == 1 and "berth-shim" in r.err, r
    env.delete(cid)


def test_delete_force_running_detached(env):
    cid = run_d(env, "sleep 100")
    shim = shim_pid(env, cid)
    env.delete(cid, force=True)
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{shim}") and time.monotonic() < deadline:
        with open(f"/proc/{shim}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{shim}/cwd") or \
        open(f"/proc/{shim}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    assert not (env.root / cid).exists()


def test_installed_berth_never_runs_a_helper_from_the_build_tree(env):
    """A berth outside its build directory (as installed) finds berth-shim next to
    itself or where it is installed, never in the tree it was built in."""
    import shutil

    installed = "/usr/local/libexec/berth/berth-shim"
    if os.path.exists(installed):
        pytest.skip(f"{installed} exists: this machine has berth installed")
    bindir = env.dir / "bin"
    bindir.mkdir()
    copy = str(bindir / "berth")
    shutil.copy2(BERTH, copy)
    env.process["args"] = ["true"]
    env.save()
    cid = env.new_id()
    r = env.berth("run", "-d", "-b", env.bundle, cid, binary=copy)
    env.berth("delete", "-f", cid)
    assert r.rc != 0, r
    assert "berth-shim not found" in r.err, r
    # next to its own executable (read before berth detaches from it) it is found
    shutil.copy2(os.path.join(os.path.dirname(BERTH), "berth-shim"), bindir / "berth-shim")
    r = env.berth("run", "-d", "-b", env.bundle, cid, binary=copy)
    assert r.rc == 0, r
    assert env.berth("wait", cid, binary=copy).out.strip() == "0"
    env.berth("delete", "-f", cid, binary=copy)


def test_wait_after_the_shim_was_killed_says_so(env):
    """berth wait of a `run -d` container whose berth-shim was killed says the shim
    is gone and the exit code unknown, not to use 'berth run -d'."""
    env.process["args"] = ["sh", "-c", "sleep 1; exit 3"]
    env.save()
    cid = env.new_id()
    r = env.berth("run", "-d", "-b", env.bundle, cid)
    assert r.rc == 0, r
    shim_pid = int((env.root / cid / "shim.pid").read_text().split()[0])
    os.kill(shim_pid, signal.SIGKILL)
    r = env.berth("wait", cid, timeout=30)
    assert r.rc != 0, r
    assert "berth-shim is gone" in r.err and "run -d" not in r.err, r
    assert len(r.err_lines) == 1, r
    env.berth("delete", "-f", cid)


def test_run_detached_failing_start_leaves_no_shim(env):
    """A start that fails after berth-shim took the container (a failing
    startContainer hook) deletes the container, and its shim goes too."""
    env.write_rootfs("/failhook", "#!/bin/sh\nexit 1\n")
    env.add_hook("startContainer", "/failhook")
    env.process["args"] = ["sleep", "30"]
    env.save()
    cid = env.new_id()
    r = env.berth("run", "-d", "-b", env.bundle, cid)
    assert r.rc != 0 and "startContainer hook" in r.err, r
    assert len(r.err_lines) == 1, r
    assert not (env.root / cid).exists()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        shims = subprocess.run(["pgrep", "-f", f"berth-shim --id {cid} "], capture_output=True,
                               text=True).stdout.split()
        if not shims:
            break
        time.sleep(0.05)
    assert not shims, f"berth-shim of {cid} still runs: {shims}"
