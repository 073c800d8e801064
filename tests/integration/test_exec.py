# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth exec: a new process inside a running container.

Each test starts a container whose process sleeps, runs berth exec into it
and checks what the new process saw: namespaces, cwd, env, user, capabilities,
seccomp, exit codes. The env fixture force-deletes the container and checks
that nothing is left behind.
"""

import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import BERTH, traced_env
from test_cli import rmdir_cgroups, runc, start_with  # noqa: F401 (runc: a fixture)

ENGINES = os.path.join("/work", "shared", "engines")


def running(env, **kw):
    env.process["args"] = ["sleep", "1000"]
    cid, _ = env.create(**kw)
    env.start(cid, check=True)
    return cid


def status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} not in {text!r}")


def wait_file(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return open(path).read()
        time.sleep(0.02)
    raise AssertionError(f"{path} did not appear")


def test_exec_exit_code_and_pid_namespace(env):
    cid = running(env)
    r = env.berth("exec", cid, "sh", "-c", "echo pid=$$; cat /proc/1/cmdline; echo; exit 7")
    assert r.rc == 7, r
    lines = r.out.splitlines()
    # the process is in the container's pid namespace, next to its init (sleep, pid 1)
    assert lines[0].startswith("pid=") and int(lines[0][4:]) > 1, r
    assert lines[1].replace("\0", " ").strip() == "sleep 1000", r
    # killed by a signal: 128 + N
    r = env.berth("exec", cid, "sh", "-c", "kill -9 $$")
    assert r.rc == 137, r


def test_exec_joins_every_namespace_and_the_cgroup(env):
    cid = running(env)
    init = env.state(cid)["pid"]
    pidfile = env.dir / "exec.pid"
    r = env.berth("exec", "--detach", "--pid-file", pidfile, cid, "sleep", "1000")
    assert r.rc == 0, r
    pid = int(wait_file(pidfile))
    for ns in ("mnt", "pid", "net", "ipc", "uts", "cgroup"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/{init}/ns/{ns}"), ns
    with open(f"/proc/{pid}/cgroup") as f, open(f"/proc/{init}/cgroup") as g:
        assert f.read() == g.read()
    assert os.readlink(f"/proc/{pid}/root") == os.readlink(f"/proc/{init}/root")
    # berth ps lists it with the init
    r = env.berth("ps", "--format", "json", cid, check=True)
    assert pid in json.loads(r.out) and init in json.loads(r.out), r


def test_exec_env_cwd_user_groups(env):
    env.process["env"].append("FROM_CONFIG=1")
    cid = running(env)
    r = env.berth("exec", "-e", "FOO=bar", "-e", "FROM_CONFIG=2", "--cwd", "/tmp",
                  "-u", "65534:65534", "-g", "1234", cid,
                  "sh", "-c", "echo $FOO $FROM_CONFIG; pwd; id -u; id -g; id -G")
    assert r.rc == 0, r
    assert r.out.splitlines() == ["bar 2", "/tmp", "65534", "65534", "65534 1234"], r
    # a missing cwd is chdir's error, as with runc: exec never creates it
    r = env.berth("exec", "--cwd", "/new/dir", cid, "pwd")
    assert r.rc == 1 and len(r.err_lines) == 1, r
    assert "cwd" in r.err and "No such file or directory" in r.err, r
    assert not (env.rootfs / "new").exists()


def test_exec_capabilities_and_no_new_privs(env):
    env.process["noNewPrivileges"] = False
    cid = running(env)
    r = env.berth("exec", cid, "cat", "/proc/self/status", check=True)
    base = int(status_field(r.out, "CapEff"), 16)
    assert status_field(r.out, "NoNewPrivs") == "0", r
    r = env.berth("exec", "-c", "CAP_SYS_ADMIN", "--cap", "cap_net_raw", "--no-new-privs", cid,
                  "cat", "/proc/self/status", check=True)
    eff = int(status_field(r.out, "CapEff"), 16)
    added = (1 << 21) | (1 << 13)  # CAP_SYS_ADMIN, CAP_NET_RAW
    assert eff == base | added, r
    assert int(status_field(r.out, "CapBnd"), 16) & added == added, r
    # CVE-2022-29162: --cap never makes anything inheritable (or ambient)
    assert int(status_field(r.out, "CapInh"), 16) == 0, r
    assert int(status_field(r.out, "CapAmb"), 16) == 0, r
    assert status_field(r.out, "NoNewPrivs") == "1", r
    r = env.berth("exec", "-c", "CAP_NOPE", cid, "true")
    assert r.rc == 1 and len(r.err_lines) == 1 and "CAP_NOPE" in r.err, r


def test_exec_applies_the_container_seccomp_filter(env):
    assert "seccomp" in env.linux, "berth spec makes a seccomp profile"
    cid = running(env)
    r = env.berth("exec", cid, "cat", "/proc/self/status", check=True)
    assert status_field(r.out, "Seccomp") == "2", r
    # the same bundle without linux.seccomp: no filter
    del env.linux["seccomp"]
    env2_cid = running(env)
    r = env.berth("exec", env2_cid, "cat", "/proc/self/status", check=True)
    assert status_field(r.out, "Seccomp") == "0", r


def test_exec_process_file_as_containerd_passes_it(env):
    cid = running(env)
    with open(os.path.join(ENGINES, "containerd", "05-exec.exec.process.json")) as f:
        proc = json.load(f)
    out = "/exec-out"
    proc["args"] = ["sh", "-c", f"echo exec-ok > {out}; grep -E '^(CapInh|NoNewPrivs)' "
                    f"/proc/self/status >> {out}; ulimit -n >> {out}; id -G >> {out}"]
    pf = env.dir / "process.json"
    pf.write_text(json.dumps(proc))
    pidfile = env.dir / "e1.pid"
    # exactly containerd's argv shape: --process FILE --detach --pid-file F ID
    r = env.berth("exec", "--process", pf, "--detach", "--pid-file", pidfile, cid)
    assert r.rc == 0, r
    assert int(wait_file(pidfile)) > 0
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        p = env.rootfs / out.lstrip("/")
        text = p.read_text() if p.exists() else ""
        if len(text.splitlines()) >= 5:
            break
        time.sleep(0.02)
    lines = text.splitlines()
    assert lines[0] == "exec-ok", text
    assert status_field(text, "CapInh") == "0000000000000000", text
    assert status_field(text, "NoNewPrivs") == "1", text
    assert lines[3] == "1024", text
    assert lines[4].split() == ["0"], text


def test_exec_process_file_errors_name_the_file(env):
    cid = running(env)
    pf = env.dir / "bad.json"
    pf.write_text(json.dumps({"args": [], "cwd": "/"}))
    r = env.berth("exec", "-p", pf, cid)
    assert r.rc == 1 and len(r.err_lines) == 1, r
    assert str(pf) in r.err and "process.args" in r.err, r
    pf.write_text("{ not json")
    r = env.berth("exec", "-p", pf, cid)
    assert r.rc == 1 and len(r.err_lines) == 1 and str(pf) in r.err, r
    pf.write_text(json.dumps({"args": ["true"], "cwd": "relative"}))
    r = env.berth("exec", "-p", pf, cid)
    assert r.rc == 1 and "process.cwd" in r.err, r


def test_exec_into_a_created_container(env, runc):
    # runc lets a process into a created container, next to the waiting init
    env.process["args"] = ["sh", "-c", "echo started > /started"]
    cid, _ = env.create()
    script = "echo in; test -e /started || echo not-started; cat /proc/1/cmdline >/dev/null; exit 3"
    r = env.berth("exec", cid, "sh", "-c", script)
    assert (r.rc, r.out.split()) == (3, ["in", "not-started"]), r
    assert env.state(cid)["status"] == "created"
    # the container starts as usual afterwards
    env.start(cid)
    env.wait_status(cid, "stopped")
    assert (env.rootfs / "started").read_text() == "started\n"
    if runc:
        (env.rootfs / "started").unlink()
        runc("create", "r" + cid, check=True)
        rr = runc("exec", "r" + cid, "sh", "-c", script)
        assert (rr.rc, rr.out.split()) == (r.rc, r.out.split()), rr


def test_exec_refuses_stopped_containers(env):
    env.process["args"] = ["true"]
    cid, _ = env.create()
    env.start(cid)
    env.wait_status(cid, "stopped")
    r = env.berth("exec", cid, "true")
    assert r.rc == 1 and len(r.err_lines) == 1, r
    assert f'container "{cid}" is not running' in r.err, r
    r = env.berth("exec", "nosuch", "true")
    assert r.rc == 1 and "nosuch" in r.err, r


def test_exec_paused_needs_ignore_paused(env):
    cid = running(env)
    env.berth("pause", cid, check=True)
    r = env.berth("exec", cid, "true")
    assert r.rc == 1 and len(r.err_lines) == 1 and "paused" in r.err, r
    # with --ignore-paused the process runs once the container is resumed
    bg = env.popen("exec", "--ignore-paused", cid, "sh", "-c", "echo ran; exit 4")
    time.sleep(0.3)
    assert bg.poll() is None
    env.berth("resume", cid, check=True)
    r = bg.wait()
    assert r.rc == 4 and r.out.strip() == "ran", r


def test_exec_program_errors_are_one_line(env):
    cid = running(env)
    r = env.berth("exec", cid, "no-such-program")
    assert r.rc == 1 and len(r.err_lines) == 1, r
    assert "executable file not found" in r.err and cid in r.err, r
    r = env.berth("exec", cid)
    assert r.rc == 2, r
    r = env.berth("exec", "-t", "-d", cid, "true")
    assert r.rc == 1 and "console-socket" in r.err, r


def test_exec_cwd_stays_inside_the_root(env):
    """CVE-2024-21626: no fd of berth and no symlink lead a cwd out of the container."""
    cid = running(env)
    dfd = os.open(str(env.dir), os.O_RDONLY | os.O_DIRECTORY)
    try:
        r = env.berth("exec", "--cwd", f"/proc/self/fd/{dfd}", cid, "pwd", pass_fds=(dfd,))
        assert r.rc == 1 and len(r.err_lines) == 1 and "cwd" in r.err, r
        r = env.berth("exec", "--preserve-fds", "0", "--cwd", "/proc/self/cwd", cid, "pwd")
        assert r.rc == 1 and "cwd" in r.err, r
    finally:
        os.close(dfd)
    # an absolute symlink to a host directory resolves inside the container
    os.symlink(str(env.dir), env.rootfs / "hostdir")
    os.symlink("../../../../../../../..", env.rootfs / "up")
    (env.rootfs / str(env.dir).lstrip("/")).mkdir(parents=True)
    r = env.berth("exec", "--cwd", "/hostdir", cid, "sh", "-c", "touch escaped; pwd")
    assert r.rc == 0, r
    assert not (env.dir / "escaped").exists()
    assert (env.rootfs / str(env.dir).lstrip("/") / "escaped").exists()
    r = env.berth("exec", "--cwd", "/up", cid, "sh", "-c", "pwd; ls /")
    assert r.rc == 0 and r.out.splitlines()[0] == "/", r
    assert "bundle" not in r.out.split(), r


def test_exec_forwards_signals(env):
    cid = running(env)
    bg = env.popen("exec", cid, "sh", "-c", "trap 'echo got-term; exit 9' TERM; "
                   "echo ready; while :; do sleep 0.1; done")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        bg.fo.seek(0)
        if "ready" in bg.fo.read():
            break
        time.sleep(0.02)
    bg.send_signal(15)
    r = bg.wait()
    assert r.rc == 9 and "got-term" in r.out, r


def test_exec_tty_relay_from_a_pipe(env):
    cid = running(env)
    r = env.berth("exec", "-t", cid, "sh", input="tty\nexit 5\n")
    assert r.rc == 5, r
    assert "/dev/pts/" in r.out, r


def test_exec_hands_a_seccomp_listener_to_the_agent(env):
    """With notify rules, the exec'd process's listener goes to listenerPath like the init's."""
    import socket
    import threading

    path = env.dir / "agent.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(4)
    got = []  # (state JSON, fds): fds stay open, or notifying syscalls would fail

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                data, fds, _, _ = socket.recv_fds(conn, 65536, 4)
                while True:
                    more = conn.recv(65536)
                    if not more:
                        break
                    data += more
            got.append((data.rstrip(b"\0").decode(), fds))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        env.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                "listenerPath": str(path), "listenerMetadata": "m-1",
                                "syscalls": [{"names": ["mkdir", "mkdirat"],
                                              "action": "SCMP_ACT_NOTIFY"}]}
        cid = running(env)
        pidfile = env.dir / "e.pid"
        r = env.berth("exec", "-d", "--pid-file", pidfile, cid, "sleep", "1000")
        assert r.rc == 0, r
        pid = int(wait_file(pidfile))
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(got) == 2, got
        state = json.loads(got[1][0])
        assert len(got[1][1]) == 1 and state["fds"] == ["seccompFd"], got
        assert state["pid"] == pid and state["metadata"] == "m-1", state
        assert state["state"]["id"] == cid and state["state"]["status"] == "running", state
    finally:
        try:
            srv.shutdown(socket.SHUT_RDWR)  # wakes the accept
        except OSError:
            pass
        srv.close()
        for _, fds in got:
            for fd in fds:
                os.close(fd)
        t.join(timeout=5)


def test_exec_into_user_and_time_namespaces(env):
    env.set_ns("user")
    env.set_ns("time")
    env.linux["timeOffsets"] = {"boottime": {"secs": 1000000, "nanosecs": 0}}
    env.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    env.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    env.remove_mount("/sys/fs/cgroup")
    cid = running(env)
    init = env.state(cid)["pid"]
    pidfile = env.dir / "e.pid"
    r = env.berth("exec", "-d", "--pid-file", pidfile, "-u", "1000:1000", cid, "sleep", "1000")
    assert r.rc == 0, r
    pid = int(wait_file(pidfile))
    for ns in ("user", "time", "mnt", "pid"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/{init}/ns/{ns}"), ns
    st = os.stat(f"/proc/{pid}")
    assert (st.st_uid, st.st_gid) == (101000, 101000)
    r = env.berth("exec", cid, "sh", "-c", "id -u; cat /proc/uptime")
    assert r.rc == 0, r
    assert r.out.splitlines()[0] == "0", r
    assert float(r.out.splitlines()[1].split()[0]) > 1000000, r


def test_exec_preserve_fds(env):
    cid = running(env)
    rfd, wfd = os.pipe()
    try:
        if wfd != 3:
            # the preserved range starts at 3: put the pipe there for berth
            saved = os.dup(3) if _fd_open(3) else None
            os.dup2(wfd, 3, inheritable=True)
        try:
            r = env.berth("exec", "--preserve-fds", "1", cid, "sh", "-c",
                          "echo through-fd-3 >&3; ls /proc/self/fd | wc -l", pass_fds=(3,))
        finally:
            if wfd != 3:
                if saved is not None:
                    os.dup2(saved, 3)
                    os.close(saved)
                else:
                    os.close(3)
        assert r.rc == 0, r
        os.close(wfd)
        wfd = -1
        assert os.read(rfd, 100) == b"through-fd-3\n"
        # 0, 1, 2, 3 and the one ls opens
        assert r.out.strip() == "5", r
        # a range with holes would hand berth's own fds to the container: refused
        r = env.berth("exec", "--preserve-fds", "40", cid, "true")
        assert r.rc == 1 and len(r.err_lines) == 1 and "is not open" in r.err, r
    finally:
        os.close(rfd)
        if wfd >= 0:
            os.close(wfd)


def _fd_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def test_exec_enters_the_init_root_with_no_pivot(env):
    """--no-pivot leaves the mount namespace's root on the host's /: exec follows the init's."""
    (env.rootfs / "inside-marker").write_text("x")
    cid = running(env, extra=("--no-pivot",))
    r = env.berth("exec", cid, "sh", "-c", "ls /; cat /inside-marker")
    assert r.rc == 0, r
    assert "inside-marker" in r.out.split() and r.out.endswith("x"), r


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_exec_pidfd_failure_is_an_error_not_a_hang(env):
    """pidfd_open of the exec'd process failing (here injected by strace: EMFILE)
    is one clear error, the process is killed, and berth does not wait forever."""
    cid, _ = env.create(["sleep", "30"])
    env.start(cid)
    argv = ["strace", "-qq", "-o", "/dev/null", "-e", "trace=pidfd_open",
            "-e", "inject=pidfd_open:error=EMFILE:when=2", BERTH, "--root", str(env.root),
            "exec", cid, "sh", "-c", "echo started; sleep 30"]
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL,
                        env=traced_env(env.mark))
    assert cp.returncode != 0, cp
    assert "pidfd" in cp.stderr and cp.stderr.count("\n") == 1, cp.stderr
    pids = env.berth("ps", "--format", "json", cid)
    assert pids.rc == 0, pids
    assert len(json.loads(pids.out)) == 1, pids  # only the init is left
    env.delete(cid, force=True)


def test_exec_user_id_minus_one_refused(env):
    """(uid_t)-1 leaves the exec'd process root: refused from -u and from a process file."""
    cid = running(env)
    for user in ("4294967295", "1000:4294967295"):
        r = env.berth("exec", "-u", user, cid, "id")
        assert r.rc != 0 and len(r.err_lines) == 1 and "4294967295" in r.err, r
        assert r.out == "", r
    pf = env.dir / "process.json"
    for user, path, kind in (({"uid": 4294967295, "gid": 0}, "process.user.uid", "uid"),
                             ({"uid": 0, "gid": 4294967295}, "process.user.gid", "gid"),
                             ({"uid": 0, "gid": 0, "additionalGids": [4294967295]},
                              "process.user.additionalGids[0]", "gid")):
        pf.write_text(json.dumps({"args": ["id"], "cwd": "/", "user": user}))
        r = env.berth("exec", "-p", pf, cid)
        assert r.rc == 1 and len(r.err_lines) == 1, r
        assert f'process file "{pf}": {path}: 4294967295 is not a valid {kind}' in r.err, r
        assert r.out == "", r
    # nothing was started: the container runs only its init
    r = env.berth("ps", cid, check=True)
    assert len([l for l in r.out.splitlines()[1:] if l.strip()]) == 1, r


def test_exec_gets_its_own_session(env):
    """runc makes every process it starts a session leader, with a tty or not."""
    cid = running(env)
    init_sid = open(f"/proc/{env.state(cid)['pid']}/stat").read().rsplit(")", 1)[1].split()[3]
    r = env.berth("exec", cid, "cat", "/proc/self/stat")
    assert r.rc == 0, r
    pid, rest = r.out.split(" ", 1)
    sid = rest.rsplit(")", 1)[1].split()[3]
    assert sid == pid, r
    assert sid != init_sid


def test_exec_stdio_pipes_belong_to_the_user(env):
    cid = running(env)
    argv = [BERTH, "--root", str(env.root), "exec", "-u", "1000:1000", cid,
            "sh", "-c", "echo piped > /proc/self/fd/1; cat /proc/self/fd/0"]
    r = subprocess.run(argv, input="in\n", capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r
    assert r.stdout.split() == ["piped", "in"], r


def _cgroups_of(pid):
    """{controller or "": path} from /proc/PID/cgroup (co-mounted ones under each name)."""
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                out[c] = path
    return out


def _cg_dir(ctrl, path):
    base = "/sys/fs/cgroup/unified" if ctrl == "" and os.path.isdir(
        "/sys/fs/cgroup/unified") else "/sys/fs/cgroup" if ctrl == "" else f"/sys/fs/cgroup/{ctrl}"
    return base + path


def test_exec_cgroup_runs_in_a_sub_cgroup(env, runc):
    env.process["args"] = ["sleep", "1000"]
    hybrid = os.path.exists("/sys/fs/cgroup/memory/memory.limit_in_bytes")
    if hybrid:  # a v1 memory cgroup for the container
        env.linux["resources"] = {"memory": {"limit": 256 << 20}}
    env.save()
    got = {}
    for name, tool in (("berth", env.berth), ("runc", runc)):
        if tool is None:
            continue
        cid = start_with(env, name, tool)
        init = json.loads(tool("state", cid, check=True).out)["pid"]
        base = _cgroups_of(init)
        ctrls = ["", "memory"] if hybrid else [""]
        made = [_cg_dir(c, base[c] + "/" + sub) for c in ctrls for sub in ("sub1", "sub2")]
        for d in made:
            os.mkdir(d)
        try:
            # runc joins SUB in every hierarchy it made (berth: those it made and that
            # have SUB), so runc runs only the controller form
            forms = [["--cgroup", "memory:sub2"]] if hybrid else []
            if name == "berth":
                forms.insert(0, ["--cgroup", "sub1"])
            seen = []
            for arg in forms:
                pidfile = env.dir / f"{cid}-{arg[1].replace(':', '-')}.pid"
                r = tool("exec", *arg, "--detach", "--pid-file", pidfile, cid, "sleep", "1000")
                assert r.rc == 0, r
                cg = _cgroups_of(int(wait_file(pidfile)))
                seen.append({c: cg[c][len(base[c]):] for c in ctrls})
            errs = []
            for bad in (["nosuch"], ["a:b:c"], ["x", "y"], ["../x"], ["nosuchctl:sub1"]):
                args = [a for b in bad for a in ("--cgroup", b)]
                r = tool("exec", *args, cid, "true")
                errs.append(r.rc != 0)
                if name == "berth":
                    assert r.rc == 1 and len(r.err_lines) == 1, r
            got[name] = (seen, errs)
        finally:
            tool("kill", "--all", cid, "KILL")
            rmdir_cgroups(made)
    seen, errs = got["berth"]
    assert seen[0] == {c: "/sub1" for c in ctrls}, seen
    if hybrid:
        assert seen[1] == {"": "", "memory": "/sub2"}, seen
    assert errs == [True] * 5, errs
    if "runc" in got:
        assert got["runc"] == (seen[1:], errs), got


def test_exec_with_a_fifo_at_dev_null(env):
    """berth reopens a /dev/null on stdio from the container's /dev; the container
    owns that path and may have put a FIFO there: the exec neither hangs on it nor
    takes it as stdin, and the host's /dev/null stays."""
    cid = running(env)
    r = env.berth("exec", cid, "sh", "-c", "rm /dev/null && mkfifo /dev/null")
    assert r.rc == 0, r
    r = env.berth("exec", cid, "sh", "-c", "ls -lL /proc/self/fd/0; echo done", timeout=20)
    assert r.rc == 0 and r.out.rstrip().endswith("done"), r
    assert not r.out.startswith("p"), r  # stdin is not the container's FIFO
    env.delete(cid, force=True)
