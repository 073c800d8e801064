# SPDX-License-Identifier: LGPL-2.1-or-later
"""linux.seccomp: actions, argument filters, the default profile, unknown names,
the ENOSYS rule, the notify agent, malformed sections and the program cache.

Uses two helpers meson builds next to berth: berth-test-syscall (a static
program making one raw syscall, copied into the rootfs) and
berth-seccomp-agent (contrib/seccomp-agent, run on the host)."""

import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from conftest import BERTH, RUNC, cgroups_matching

BUILD = pathlib.Path(BERTH).parent
PROBE = BUILD / "berth-test-syscall"
AGENT = BUILD / "berth-seccomp-agent"

SIGSYS_EXIT = 128 + 31
ENOSYS, EPERM = 38, 1


@pytest.fixture
def probe(env):
    """Put berth-test-syscall at /probe in the rootfs; returns a runner of it."""
    if not PROBE.exists():
        pytest.skip(f"{PROBE} not built")
    shutil.copy(PROBE, env.rootfs / "probe")

    def run(*args, **kw):
        return env.run(["/probe"] + [str(a) for a in args], **kw)
    return run


def result(r):
    """(ret, errno) from the probe's "ret=N errno=M" line."""
    line = [l for l in r.out.splitlines() if l.startswith("ret=")]
    assert line, r
    ret, err = line[-1].split()
    return int(ret.split("=")[1]), int(err.split("=")[1])


def allow_default(env, syscalls, **extra):
    env.linux["seccomp"] = dict({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls}, **extra)


def test_errno_ret(env):
    allow_default(env, [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}])
    r = env.sh("mkdir /tmp/d; echo rc=$?; test -d /tmp/d || echo absent")
    assert r.rc == 0, r
    assert "Function not implemented" in r.err, r
    assert "rc=1" in r.out and "absent" in r.out, r


def test_errno_default_is_eperm(env, probe):
    allow_default(env, [{"names": ["sync"], "action": "SCMP_ACT_ERRNO"}])
    assert result(probe("sync")) == (-1, EPERM)


def test_kill_process(env, probe):
    allow_default(env, [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}])
    r = probe("getppid")
    assert r.rc == SIGSYS_EXIT, r
    assert "ret=" not in r.out


def test_kill_thread(env, probe):
    allow_default(env, [{"names": ["getppid"], "action": "SCMP_ACT_KILL"}])
    r = probe("getppid")
    # the only thread dies: the process ends with SIGSYS
    assert r.rc == SIGSYS_EXIT, r


def test_trap_delivers_sigsys(env, probe):
    allow_default(env, [{"names": ["getppid"], "action": "SCMP_ACT_TRAP"}])
    # caught: the handler sees SIGSYS for the trapped syscall
    r = probe("--catch-sigsys", "getppid")
    assert r.rc == 0, r
    assert "SIGSYS syscall=110" in r.out, r
    # not caught: SIGSYS's default action ends the process
    r = probe("getppid")
    assert r.rc == SIGSYS_EXIT, r


def test_log_lets_the_syscall_run(env):
    allow_default(env, [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_LOG"}])
    r = env.sh("mkdir /tmp/logged && test -d /tmp/logged && echo made")
    assert r.rc == 0 and "made" in r.out, r
    try:
        logged = open("/proc/sys/kernel/seccomp/actions_logged").read().split()
    except OSError:
        return
    assert "log" in logged


def test_trace_without_tracer_is_enosys(env, probe):
    # no ptracer attached: the kernel fails the syscall with ENOSYS
    allow_default(env, [{"names": ["getppid"], "action": "SCMP_ACT_TRACE", "errnoRet": 5}])
    assert result(probe("getppid")) == (-1, ENOSYS)


def test_argument_filters(env, probe):
    allow_default(env, [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        # signals above 10 to anyone: errno 77
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
         "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_GT"}]},
        # getpriority(which, who) with (who & 0xff00) == 0x1200
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 78,
         "args": [{"index": 1, "value": 0xff00, "valueTwo": 0x1200, "op": "SCMP_CMP_MASKED_EQ"}]},
    ])
    assert result(probe("personality", 8)) == (-1, 99)
    assert result(probe("personality", 0xffffffff))[1] == 0
    assert result(probe("kill", 999999, 15)) == (-1, 77)
    assert result(probe("kill", 999999, 5)) == (-1, 3)  # ESRCH: the kernel ran it
    assert result(probe(140, 0, 0x1234)) == (-1, 78)
    assert result(probe(140, 0, 0x1334))[1] != 78


def test_several_conditions_on_one_argument_match_any(env, probe):
    allow_default(env, [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
                         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                                  {"index": 0, "value": 0x20000, "op": "SCMP_CMP_EQ"}]}])
    assert result(probe("personality", 8)) == (-1, 99)
    assert result(probe("personality", 0x20000)) == (-1, 99)
    assert result(probe("personality", 0xffffffff))[1] == 0


def test_default_profile_shell_works(env):
    assert env.linux["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    script = """
        set -e
        echo hello; ls / >/dev/null; cat /etc/passwd >/dev/null
        mkdir -p /tmp/a/b; echo x > /tmp/a/b/f; cp /tmp/a/b/f /tmp/g; rm -r /tmp/a
        ps >/dev/null; sleep 0.1 & wait
        sleep 10 & kill $!; wait $! || true
        id -u; date >/dev/null; uname -a >/dev/null; touch /tmp/t; chmod 600 /tmp/t
        ln -s /tmp/t /tmp/l; readlink /tmp/l; find /etc -name passwd
        (wget -q -O /dev/null http://127.0.0.1:1/ 2>/dev/null || echo wget-failed-cleanly)
        echo done
    """
    r = env.sh(script)
    assert r.rc == 0, r
    for word in ("hello", "0", "/tmp/t", "/etc/passwd", "wget-failed-cleanly", "done"):
        assert word in r.out.split(), r


def test_default_profile_denies(env, probe):
    r = env.sh("unshare -n true; echo unshare=$?; mount -t tmpfs none /mnt; echo mount=$?")
    assert "unshare=1" in r.out and "mount=1" in r.out, r
    assert "Operation not permitted" in r.err, r
    for call in ("unshare", "mount", "keyctl", "kexec_load"):
        assert result(probe(call, 0)) == (-1, EPERM), call
    # clone with a namespace flag (CLONE_NEWNET) is refused, clone3 says ENOSYS
    assert result(probe(56, 0x40000000 | 17)) == (-1, EPERM)
    assert result(probe("clone3", 0, 0)) == (-1, ENOSYS)
    # a syscall number beyond every name of the profile: ENOSYS, not EPERM
    assert result(probe(1000)) == (-1, ENOSYS)


def test_default_profile_without_no_new_privileges(env):
    # loaded early, while privileged: the profile must let the init become the user
    env.process["noNewPrivileges"] = False
    env.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1001]}
    r = env.run(["id"])
    assert r.rc == 0, r
    assert "uid=1000" in r.out and "1001" in r.out, r


def test_unknown_syscall_is_skipped_with_a_warning(env):
    allow_default(env, [{"names": ["no_such_syscall_xyz", "mkdir", "mkdirat"],
                         "action": "SCMP_ACT_ERRNO", "errnoRet": 38}])
    for _ in range(2):  # compiled, then from the cache: the warning both times
        r = env.sh("mkdir /tmp/d 2>&1; true")
        assert r.rc == 0, r
        assert "Function not implemented" in r.out, r
        warn = [l for l in r.err_lines if "no_such_syscall_xyz" in l]
        assert len(warn) == 1, r
        assert warn[0].startswith("berth: warning: ") and "skipped" in warn[0], r


# what a static glibc program and the init's last steps need, nothing newer than close_range
OLD_SYSCALLS = ["read", "write", "close", "fstat", "newfstatat", "mmap", "mprotect", "munmap",
                "brk", "rt_sigaction", "rt_sigprocmask", "ioctl", "pread64", "access", "execve",
                "exit", "exit_group", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
                "prlimit64", "getrandom", "fcntl", "readlink", "uname", "futex", "getpid",
                "close_range"]


def test_enosys_for_syscalls_newer_than_the_profile(env, probe):
    env.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
                            "syscalls": [{"names": OLD_SYSCALLS, "action": "SCMP_ACT_ALLOW"}]}
    assert result(probe("getpid"))[1] == 0
    # newer than close_range (436): ENOSYS, so that libcs fall back
    assert result(probe("openat2", 0, 0, 0, 0)) == (-1, ENOSYS)
    assert result(probe("faccessat2", 0, 0, 0, 0)) == (-1, ENOSYS)
    # older and not named: the default errno
    assert result(probe("sync")) == (-1, EPERM)
    assert result(probe("getcpu", 0, 0, 0)) == (-1, EPERM)


def test_no_enosys_rule_without_an_errno_default(env, probe):
    env.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                            "syscalls": [{"names": ["sync"], "action": "SCMP_ACT_ERRNO"}]}
    # openat2 reaches the kernel (which refuses the empty arguments), not ENOSYS
    ret, err = result(probe("openat2", -100, 0, 0, 0))
    assert ret == -1 and err not in (0, ENOSYS)


class Agent:
    def __init__(self, env, *args):
        if not AGENT.exists():
            pytest.skip(f"{AGENT} not built")
        self.sock = env.dir / "agent.sock"
        self.log = env.dir / "agent.log"
        self.p = subprocess.Popen([str(AGENT), *args, "--log", str(self.log), str(self.sock)])
        deadline = time.monotonic() + 5
        while not self.sock.exists():
            assert time.monotonic() < deadline, "agent did not start"
            time.sleep(0.02)

    def lines(self):
        return self.log.read_text().splitlines() if self.log.exists() else []

    def stop(self):
        self.p.kill()
        self.p.wait(timeout=10)


@pytest.fixture
def agent_factory(env):
    agents = []

    def make(*args):
        a = Agent(env, *args)
        agents.append(a)
        return a
    yield make
    for a in agents:
        a.stop()


def test_notify_agent_answers(env, agent_factory):
    agent = agent_factory()
    allow_default(env, [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}],
                  listenerPath=str(agent.sock), listenerMetadata="for-the-test")
    cid = env.new_id()
    r = env.sh("mkdir /tmp/nn; echo rc=$?; test -d /tmp/nn || echo absent", id=cid)
    assert r.rc == 0, r
    # the agent said "success" without running it
    assert "rc=0" in r.out and "absent" in r.out, r
    lines = agent.lines()
    state = json.loads([l for l in lines if l.startswith("state ")][0][len("state "):])
    assert state["fds"] == ["seccompFd"] and state["metadata"] == "for-the-test"
    assert state["state"]["id"] == cid and state["state"]["pid"] == state["pid"] > 0
    assert state["ociVersion"]
    assert any(l.startswith("syscall 83 ") or l.startswith("syscall 258 ") for l in lines), lines


def test_notify_agent_errno_with_create_start(env, agent_factory):
    agent = agent_factory("--errno", "42")
    allow_default(env, [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}],
                  listenerPath=str(agent.sock))
    env.process["args"] = ["sh", "-c", "mkdir /tmp/nn 2>/tmp/err; cat /tmp/err > /dev/null; sleep 30"]
    cid, _ = env.create()
    env.start(cid)
    env.wait_status(cid, "running")
    deadline = time.monotonic() + 10
    while not any(l.startswith("syscall ") for l in agent.lines()):
        assert time.monotonic() < deadline, agent.lines()
        time.sleep(0.05)
    err = (env.rootfs / "tmp" / "err")
    deadline = time.monotonic() + 5
    while not (err.exists() and err.read_text()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "No message of desired type" in err.read_text()  # errno 42, ENOMSG
    env.kill(cid, "KILL")
    env.wait_status(cid, "stopped")
    env.delete(cid)


def test_notify_without_agent_fails_start(env):
    allow_default(env, [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
                  listenerPath=str(env.dir / "nobody.sock"))
    r = env.run(["true"])
    assert r.rc != 0, r
    assert "seccomp agent" in r.err and "nobody.sock" in r.err, r


@pytest.mark.parametrize("section, path, msg", [
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["mkdir"], "action": "SCMP_ACT_FOO"}]},
     "linux.seccomp.syscalls[1].action", 'unknown action "SCMP_ACT_FOO"'),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_XX"}]}]},
     "linux.seccomp.syscalls[0].args[0].op", 'unknown operator "SCMP_CMP_XX"'),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 7, "value": 9, "op": "SCMP_CMP_EQ"}]}]},
     "linux.seccomp.syscalls[0].args[0].index", "must be between 0 and 5"),
    ({"defaultAction": "SCMP_ACT_NOPE"}, "linux.seccomp.defaultAction",
     'unknown action "SCMP_ACT_NOPE"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]},
     "linux.seccomp.architectures[0]", 'unknown architecture "SCMP_ARCH_Z80"'),
])
@pytest.mark.parametrize("verb", ["create", "run"])
def test_malformed_section(env, section, path, msg, verb):
    env.linux["seccomp"] = section
    env.save()
    cid = env.new_id()
    r = env.berth(verb, "-b", env.bundle, cid)
    assert r.rc != 0, r
    assert len(r.err_lines) == 1, r
    assert f"config.json: {path}: {msg}" in r.err, r
    # nothing is left behind: no state, no cgroup, no cache entry
    assert env.container_ids() == [], r
    assert cgroups_matching(cid) == []
    cache = env.root / ".seccomp-cache"
    assert not cache.exists() or not list(cache.iterdir())


def cache_files(env):
    d = env.root / ".seccomp-cache"
    return sorted(d.iterdir()) if d.exists() else []


def test_cache_is_written_and_used(env, probe):
    env.linux["seccomp"]["syscalls"].append(
        {"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO", "errnoRet": 61})
    env.save()
    r1 = env.berth("--debug", "run", "-b", env.bundle, env.new_id(), check=True)
    assert "(compiled)" in r1.err, r1
    files = cache_files(env)
    assert len(files) == 1 and files[0].suffix == ".bpf", files
    st = files[0].stat()
    assert st.st_mode & 0o777 == 0o600
    env.process["args"] = ["/probe", "kexec_load", "0"]
    env.save()
    # a different process section, the same seccomp section: the same cache entry
    r2 = env.berth("--debug", "run", "-b", env.bundle, env.new_id(), check=True)
    assert "(cached)" in r2.err, r2
    assert result(r2) == (-1, 61)
    assert cache_files(env) == files and files[0].stat().st_ino == st.st_ino

    # a damaged entry is never loaded: berth compiles again and replaces it
    data = bytearray(files[0].read_bytes())
    data[-40] ^= 0xff
    files[0].write_bytes(bytes(data))
    r3 = env.berth("--debug", "run", "-b", env.bundle, env.new_id(), check=True)
    assert "(compiled)" in r3.err and result(r3) == (-1, 61), r3


def test_cache_can_be_disabled(env, monkeypatch):
    monkeypatch.setenv("BERTH_SECCOMP_CACHE", "0")
    env.save()
    for _ in range(2):
        r = env.berth("--debug", "run", "-b", env.bundle, env.new_id(), check=True)
        assert "(compiled)" in r.err, r
    assert cache_files(env) == []


def test_filter_flags(env, probe):
    allow_default(env, [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}],
                  flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                         "SECCOMP_FILTER_FLAG_TSYNC"])
    assert result(probe("getppid")) == (-1, 5)


def test_features_report_seccomp(env):
    r = env.berth("features", root=False, check=True)
    sc = json.loads(r.out)["linux"]["seccomp"]
    assert sc["enabled"] is True
    assert "SCMP_ACT_NOTIFY" in sc["actions"] and "SCMP_CMP_MASKED_EQ" in sc["operators"]
    assert "SCMP_ARCH_X86_64" in sc["archs"]
    assert set(sc["supportedFlags"]) <= set(sc["knownFlags"])
    assert "SECCOMP_FILTER_FLAG_LOG" in sc["supportedFlags"]


# What busybox's `true` (static) makes from its execve to its exit.
TRUE_SYSCALLS = ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
                 "prlimit64", "readlink", "getrandom", "mprotect", "prctl", "getuid",
                 "exit_group"]
# What runc 1.1.5's init makes after loading the filter, up to its execve (strace, with
# and without noNewPrivileges): a profile must allow these for runc, so berth may make
# them too, and nothing else (no openat2, umask, setresuid, close_range ...).
RUNC_AFTER_FILTER = ["prctl", "capget", "capset", "setuid", "setgid", "setgroups", "chdir",
                     "getcwd", "getppid", "getpid", "openat", "newfstatat", "fstat", "fstatfs",
                     "faccessat2", "getdents64", "fcntl", "read", "write", "close", "epoll_ctl",
                     "futex", "nanosleep", "sched_yield", "rt_sigreturn", "rt_sigprocmask",
                     "rt_sigaction", "sigaltstack", "gettid", "tgkill", "mmap", "munmap",
                     "madvise", "clone", "exit", "execve"]


def strict_profile():
    return {"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": sorted(set(TRUE_SYSCALLS + RUNC_AFTER_FILTER)),
                          "action": "SCMP_ACT_ALLOW"}]}


def runc_exec(env, cid, option_sets):
    """runc create/start of the env's bundle, then `runc exec [OPTIONS] cid true` for each
    option set; True when every exec succeeded, None when runc is missing."""
    if not RUNC:
        return None
    env.save()
    base = [RUNC, "--root", str(env.dir / "runc-root")]

    def call(*args):
        # files, not pipes: the container keeps its stdio open
        with open(env.dir / "runc.out", "w") as f:
            return subprocess.run(base + list(args), stdin=subprocess.DEVNULL, stdout=f,
                                  stderr=subprocess.STDOUT, timeout=30).returncode
    try:
        if call("create", "-b", str(env.bundle), cid) != 0 or call("start", cid) != 0:
            return False
        return all(call("exec", *opts, cid, "true") == 0 for opts in option_sets)
    finally:
        call("delete", "--force", cid)


@pytest.mark.parametrize("uid", [0, 1000])
@pytest.mark.parametrize("nnp", [True, False])
def test_strict_profile_allows_start(env, nnp, uid):
    """berth's own steps after loading the filter are no more than runc's."""
    env.linux["seccomp"] = strict_profile()
    env.process["noNewPrivileges"] = nnp
    env.process["user"] = {"uid": uid, "gid": uid}
    env.process["args"] = ["true"]
    rr = env.runc_run()
    r = env.run()
    if rr is not None and rr.returncode == 0:
        assert r.rc == 0, (r, "runc started it")
    assert r.rc == 0, r


@pytest.mark.parametrize("nnp", [True, False])
def test_strict_profile_allows_exec(env, nnp):
    env.linux["seccomp"] = strict_profile()
    env.process["noNewPrivileges"] = nnp
    # the init waits in a syscall the profile refuses: pause() fails, sleep is not allowed
    env.linux["seccomp"]["syscalls"][0]["names"] += ["clock_nanosleep", "pause"]
    cid, _ = env.create(["sleep", "60"])
    env.start(cid)
    runc_ok = runc_exec(env, env.new_id(), [[], ["--user", "1000:1000"]])
    r = env.berth("exec", cid, "true")
    assert r.rc == 0, (r, "runc exec'd it" if runc_ok else "")
    r = env.berth("exec", "--user", "1000:1000", cid, "true")
    assert r.rc == 0, (r, "runc exec'd it" if runc_ok else "")
    env.kill(cid, "KILL")
    env.wait_status(cid, "stopped")
    env.delete(cid)


# Every syscall berth makes after loading the filter (strace: sendmsg hands the
# listener on, close, capset and prctl without noNewPrivileges, execve), and
# write, which reports an error.
AFTER_FILTER = ["sendmsg", "write", "close", "capset", "prctl", "execve"]


def refused_or_started(r, call):
    if r.rc != 0:
        assert "linux.seccomp" in r.err and call in r.err, r


@pytest.mark.parametrize("nnp", [True, False])
@pytest.mark.parametrize("call", AFTER_FILTER)
def test_notify_on_berths_own_syscalls_never_hangs(env, agent_factory, call, nnp):
    """A clear refusal or a working start; a hang fails with TimeoutExpired."""
    agent = agent_factory("--continue")
    allow_default(env, [{"names": [call], "action": "SCMP_ACT_NOTIFY"}],
                  listenerPath=str(agent.sock))
    env.process["noNewPrivileges"] = nnp
    r = env.run(["true"], timeout=20)
    refused_or_started(r, call)


@pytest.mark.parametrize("call", AFTER_FILTER)
def test_notify_on_berths_own_syscalls_exec_never_hangs(env, agent_factory, call):
    agent = agent_factory("--continue")
    allow_default(env, [{"names": [call], "action": "SCMP_ACT_NOTIFY"}],
                  listenerPath=str(agent.sock))
    env.process["args"] = ["sleep", "60"]
    env.save()
    cid = env.new_id()
    r = env.berth("create", "-b", env.bundle, cid, timeout=20)
    if r.rc != 0:
        refused_or_started(r, call)
        return
    env.start(cid)
    # the example agent serves one listener at a time: a fresh one for the exec
    agent.stop()
    agent.sock.unlink()
    agent_factory("--continue")
    r = env.berth("exec", cid, "true", timeout=20)
    refused_or_started(r, call)
    env.kill(cid, "KILL")
    env.wait_status(cid, "stopped")
    env.delete(cid)


@pytest.mark.parametrize("call", ["close", "execve"])
def test_notify_in_a_start_container_hook_never_hangs(env, agent_factory, call):
    """The hook's process has the filter, no agent: its notified calls fail with ENOSYS."""
    agent = agent_factory("--continue")
    allow_default(env, [{"names": [call], "action": "SCMP_ACT_NOTIFY"}],
                  listenerPath=str(agent.sock))
    env.add_hook("startContainer", "/bin/true")
    r = env.run(["true"], timeout=20)
    if call == "execve":
        # the hook cannot execute: start fails, with the hook named
        assert r.rc != 0 and "startContainer" in r.err, r
    else:
        assert r.rc == 0, r
