# SPDX-License-Identifier: LGPL-2.1-or-later
"""create/start/state/kill/delete/run/list/ps: the lifecycle of runtime.md and
exit statuses through run."""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BERTH, _env, marked_processes

# An init that exits 42 on TERM (an init without a handler ignores TERM).
TRAP_LOOP = "trap 'exit 42' TERM; echo ready > /ready; while :; do sleep 0.05; done"


def wait_file(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def wait_processes(mark, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while len(marked_processes(mark)) < n:
        assert time.monotonic() < deadline, marked_processes(mark)
        time.sleep(0.02)


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_state_in_each_status(env):
    os.mkfifo(env.rootfs / "fifo")
    cid, _ = env.create(["sh", "-c", "read x < /fifo; exit 0"])
    st = env.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert st["ociVersion"]
    assert st["bundle"] == str(env.bundle)
    assert st["pid"] > 0 and pid_alive(st["pid"])
    init_pid = st["pid"]
    env.start(cid)
    st = env.state(cid)
    assert st["status"] == "running"
    assert st["pid"] == init_pid
    with open(env.rootfs / "fifo", "w") as f:
        f.write("go\n")
    st = env.wait_status(cid, "stopped")
    assert st["id"] == cid and st["bundle"] == str(env.bundle)
    env.delete(cid)
    r = env.berth("state", cid)
    assert r.rc == 1 and f'container "{cid}" does not exist' in r.err


def test_annotations_in_state(env):
    env.cfg["annotations"] = {"org.example.k": "v1"}
    cid, _ = env.create(["true"])
    assert env.state(cid)["annotations"] == {"org.example.k": "v1"}


def test_create_does_not_run_program(env):
    cid, _ = env.create(["sh", "-c", "touch /ran"])
    time.sleep(0.3)
    assert not (env.rootfs / "ran").exists()
    env.start(cid)
    env.wait_status(cid, "stopped")
    assert (env.rootfs / "ran").exists()


def test_start_twice_fails(env):
    cid, _ = env.create(["sleep", "5"])
    env.start(cid)
    r = env.start(cid, check=False)
    assert r.rc == 1, r


def test_pid_file(env):
    pidfile = env.dir / "ctr.pid"
    cid, _ = env.create(["true"], extra=["--pid-file", pidfile])
    assert int(pidfile.read_text().strip()) == env.state(cid)["pid"]


def test_double_create_fails(env):
    cid, _ = env.create(["true"])
    r = env.berth("create", "-b", env.bundle, cid)
    assert r.rc == 1, r
    assert len(r.err_lines) == 1 and cid in r.err, r
    assert env.state(cid)["status"] == "created"


def test_delete_created(env):
    cid, _ = env.create(["true"])
    pid = env.state(cid)["pid"]
    env.delete(cid)
    assert not pid_alive(pid)
    assert env.container_ids() == []


def test_delete_running_without_force_fails(env):
    cid, _ = env.create(["sleep", "100"])
    env.start(cid)
    r = env.delete(cid, check=False)
    assert r.rc == 1, r
    assert len(r.err_lines) == 1 and "running" in r.err, r
    assert env.state(cid)["status"] == "running"


def test_delete_force_running(env):
    env.remove_ns("pid")  # children are found through the cgroup, not the pid namespace
    cid, _ = env.create(["sh", "-c", "sleep 100 & sleep 101 & exec sleep 102"])
    env.start(cid)
    wait_processes(env.mark, 3)
    env.delete(cid, force=True)
    assert marked_processes(env.mark) == []
    assert env.container_ids() == []


def test_kill_by_name_and_number(env):
    for sig in ("TERM", "SIGTERM", "15"):
        cid, _ = env.create(["sh", "-c", TRAP_LOOP])
        env.start(cid)
        wait_file(env.rootfs / "ready")
        env.kill(cid, sig)
        env.wait_status(cid, "stopped")
        env.delete(cid)
        (env.rootfs / "ready").unlink()


def test_kill_default_is_term(env):
    cid, _ = env.create(["sh", "-c", TRAP_LOOP])
    env.start(cid)
    wait_file(env.rootfs / "ready")
    env.kill(cid)
    env.wait_status(cid, "stopped")


def test_kill_unknown_signal(env):
    cid, _ = env.create(["sleep", "100"])
    env.start(cid)
    r = env.kill(cid, "SIGNOPE", check=False)
    assert r.rc in (1, 2), r
    assert env.state(cid)["status"] == "running"


def test_kill_all(env):
    env.remove_ns("pid")
    cid, _ = env.create(["sh", "-c", "sleep 100 & sleep 101 & exec sleep 102"])
    env.start(cid)
    wait_processes(env.mark, 3)
    env.kill(cid, "KILL", all=True)
    deadline = time.monotonic() + 5
    while marked_processes(env.mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marked_processes(env.mark) == []
    env.wait_status(cid, "stopped")


def test_kill_stopped_fails(env):
    cid, _ = env.create(["true"])
    env.start(cid)
    env.wait_status(cid, "stopped")
    r = env.kill(cid, "KILL", check=False)
    assert r.rc == 1, r
    # runc's words: containerd's runc shim reads a kill error containing them as
    # "already exited"; any other text fails the CRI's StopContainer and
    # StopPodSandbox when a container exits just before the kill (tests/cri)
    assert "container not running" in r.err, r


def test_ps(env):
    cid, _ = env.create(["sleep", "100"])
    pid = env.state(cid)["pid"]
    env.start(cid)
    r = env.berth("ps", cid, check=True)
    assert str(pid) in r.out.split(), r
    r = env.berth("ps", "--format", "json", cid)
    if r.rc == 0:
        assert pid in json.loads(r.out)


def test_list_formats(env):
    a, _ = env.create(["sleep", "100"])
    b, _ = env.create(["true"])
    env.start(a)
    r = env.berth("list", check=True)
    lines = r.out.splitlines()
    assert lines[0].split()[0] == "ID" and "STATUS" in lines[0]
    rows = {l.split()[0]: l for l in lines[1:]}
    assert set(rows) == {a, b}
    assert "running" in rows[a] and "created" in rows[b]
    r = env.berth("list", "-q", check=True)
    assert r.out.split() == sorted([a, b])
    r = env.berth("list", "--format", "json", check=True)
    items = {c["id"]: c for c in json.loads(r.out)}
    assert set(items) == {a, b}
    assert items[a]["status"] == "running" and items[b]["status"] == "created"
    assert items[a]["pid"] > 0 and items[a]["bundle"] == str(env.bundle)


def test_list_empty(env):
    r = env.berth("list", "--format", "json", check=True)
    assert json.loads(r.out) in ([], None)
    r = env.berth("list", "-q", check=True)
    assert r.out.strip() == ""


def test_state_dir_permissions(env):
    cid, _ = env.create(["true"])
    st = os.stat(env.root / cid)
    assert st.st_mode & 0o777 == 0o700


# -- run


def test_run_prints_and_deletes(env):
    r = env.sh("echo hello from berth; echo to-stderr >&2")
    assert r.rc == 0, r
    assert r.out == "hello from berth\n"
    assert "to-stderr" in r.err
    assert env.container_ids() == []


@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_run_exit_code(env, code):
    r = env.sh(f"exit {code}")
    assert r.rc == code, r


def test_run_killed_by_signal_no_pidns(env):
    env.remove_ns("pid")  # pid 1 of a pid namespace cannot SIGKILL itself
    r = env.sh("kill -9 $$")
    assert r.rc == 137, r
    assert env.container_ids() == []


def test_run_killed_from_outside(env):
    cid = env.new_id()
    env.process["args"] = ["sh", "-c", "touch /ready; exec sleep 100"]
    env.save()
    p = env.popen("run", "-b", env.bundle, cid)
    wait_file(env.rootfs / "ready")
    env.kill(cid, "KILL")
    r = p.wait()
    assert r.rc == 137, r


def test_run_forwards_signals(env):
    cid = env.new_id()
    env.process["args"] = ["sh", "-c", TRAP_LOOP]
    env.save()
    p = env.popen("run", "-b", env.bundle, cid)
    wait_file(env.rootfs / "ready")
    p.send_signal(signal.SIGTERM)
    r = p.wait()
    assert r.rc == 42, r
    assert env.container_ids() == []


def test_run_stdin_passthrough(env):
    env.process["args"] = ["sh", "-c", "read line; echo got:$line"]
    env.save()
    r = env.berth("run", "-b", env.bundle, env.new_id(), input="abc\n")
    assert r.rc == 0 and r.out == "got:abc\n", r


def test_run_keep(env):
    cid = env.new_id()
    r = env.run(["true"], id=cid, extra=["--keep"])
    assert r.rc == 0, r
    assert env.state(cid)["status"] == "stopped"
    env.delete(cid)


def test_run_no_pivot(env):
    r = env.run(["sh", "-c", "cat /etc/hostname"], extra=["--no-pivot"])
    assert r.rc == 0 and r.out == "berth-test\n", r


def test_preserve_fds(env):
    """fd 3 is passed with --preserve-fds 1; fd 4 is open in berth but must not reach the
    container."""
    out_path = env.dir / "fd3.txt"
    env.process["args"] = ["sh", "-c",
                           "echo via-fd3 >&3; test -e /proc/$$/fd/4 && echo fd4-leaked; "
                           "exec ls -l /proc/self/fd"]
    env.save()
    # `run` exits with its container, so pipes are safe here
    r = subprocess.run(
        ["sh", "-c", 'exec 3>"$0" 4>"$1"; exec "$2" --root "$3" run -b "$4" --preserve-fds 1 "$5"',
         str(out_path), str(env.dir / "fd4.txt"), BERTH, str(env.root), str(env.bundle),
         env.new_id()],
        capture_output=True, text=True, timeout=60, env=_env(env.mark), stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert "fd4-leaked" not in r.stdout
    fds = open_fds(r.stdout)
    assert fds[3].endswith("fd3.txt"), fds
    assert "fd4.txt" not in r.stdout, fds
    # ls's own directory fd is the only other one
    assert len(fds) == 5 and list(fds.values()).count("/proc/self/fd") <= 1, fds
    assert out_path.read_text() == "via-fd3\n"


def test_only_stdio_open(env):
    # ls itself (no shell: ash keeps fds of its own) lists its fds: stdio and its dir
    r = env.run(["ls", "-l", "/proc/self/fd"])
    assert r.rc == 0, r
    fds = open_fds(r.out)
    assert sorted(fds) == [0, 1, 2, 3], r


def open_fds(ls_output):
    """fd -> link target from `ls -l /proc/self/fd`."""
    fds = {}
    for line in ls_output.splitlines():
        if " -> " in line:
            left, target = line.split(" -> ", 1)
            fds[int(left.split()[-1])] = target
        elif line.split() and line.split()[-1].isdigit():
            fds[int(line.split()[-1])] = ""
    return fds


# -- cgroups


def proc_cgroup_v2(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return line.strip()[3:]
    return None


def test_container_has_own_cgroup(env):
    cid, _ = env.create(["sleep", "100"])
    pid = env.state(cid)["pid"]
    cg = proc_cgroup_v2(pid)
    assert cg and cg != proc_cgroup_v2(os.getpid()), cg
    assert cid in cg, cg
    env.start(cid)
    r = env.berth("ps", "--format", "json", cid, check=True)
    assert json.loads(r.out) == [pid]
    env.delete(cid, force=True)
    assert not os.path.exists("/sys/fs/cgroup/unified" + cg)


def test_cgroups_path(env):
    from conftest import TOKEN
    path = f"/{TOKEN}-{env.idx}-cg/inner"
    env.linux["cgroupsPath"] = path
    cid, _ = env.create(["sleep", "100"])
    pid = env.state(cid)["pid"]
    assert proc_cgroup_v2(pid) == path
    assert os.path.isdir("/sys/fs/cgroup/unified" + path)
    env.delete(cid, force=True)
    assert not os.path.exists("/sys/fs/cgroup/unified" + path)
    parent = os.path.dirname("/sys/fs/cgroup/unified" + path)
    if os.path.isdir(parent):  # berth may leave the parent it created; do not leak it
        os.rmdir(parent)


def test_concurrent_commands_keep_state_consistent(env):
    """Many state/list commands racing with start and kill: every answer is whole JSON."""
    cid, _ = env.create(["sh", "-c", TRAP_LOOP])
    procs = [env.popen("state", cid) for _ in range(12)]
    procs += [env.popen("list", "--format", "json") for _ in range(4)]
    env.start(cid)
    procs += [env.popen("state", cid) for _ in range(12)]
    wait_file(env.rootfs / "ready")
    env.kill(cid, "TERM")
    for p in procs:
        r = p.wait()
        assert r.rc == 0, r
        json.loads(r.out)
    st = env.wait_status(cid, "stopped")
    assert st["id"] == cid
