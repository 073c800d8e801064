# SPDX-License-Identifier: LGPL-2.1-or-later
"""OCI hooks: the six kinds in order, with the state JSON on stdin, in the right
namespace; failures and timeouts."""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BERTH, MARK

KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop"]

# Runs on the host (dash) and in the container (busybox sh).
HOOK = """#!/bin/sh
kind=$1
log=$2
cat > "$log.$kind.json"
readlink /proc/self/ns/mnt > "$log.$kind.mnt"
echo "${HOOKVAR:-unset}" > "$log.$kind.env"
echo "$kind" >> "$log"
"""


def install_hooks(env, kinds=KINDS):
    host_hook = env.dir / "hook.sh"
    host_hook.write_text(HOOK)
    host_hook.chmod(0o755)
    env.write_rootfs("/hook.sh", HOOK)
    host_log = str(env.rootfs / "hooks.log")
    for k in kinds:
        if k == "startContainer":  # path resolves in the container
            env.add_hook(k, "/hook.sh", ["hook.sh", k, "/hooks.log"], env=["HOOKVAR=" + k])
        else:
            env.add_hook(k, str(host_hook), ["hook.sh", k, host_log], env=["HOOKVAR=" + k])
    return env.rootfs / "hooks.log"


def read_log(log):
    return log.read_text().split() if log.exists() else []


def check_hook_outputs(env, log, cid, init_pid, container_mnt):
    host_mnt = os.readlink("/proc/self/ns/mnt")
    want_status = {"prestart": {"creating", "created"}, "createRuntime": {"creating"},
                   "createContainer": {"creating"}, "startContainer": {"created"},
                   "poststart": {"running"}, "poststop": {"stopped"}}
    for k in KINDS:
        st = json.loads(open(f"{log}.{k}.json").read())
        assert st["id"] == cid, (k, st)
        assert st["bundle"] == str(env.bundle), (k, st)
        assert st["ociVersion"], (k, st)
        assert st["status"] in want_status[k], (k, st)
        if k != "poststop":
            assert st["pid"] == init_pid, (k, st)
        mnt = open(f"{log}.{k}.mnt").read().strip()
        if k in ("createContainer", "startContainer"):
            assert mnt != host_mnt, f"{k} hook ran in the host mount namespace"
            if container_mnt:
                assert mnt == container_mnt, k
        else:
            assert mnt == host_mnt, f"{k} hook ran outside the runtime namespace"
        assert open(f"{log}.{k}.env").read().strip() == k, f"{k}: hook env not passed"


def test_hooks_order_create_start_delete(env):
    log = install_hooks(env)
    cid, _ = env.create(["sh", "-c", "readlink /proc/self/ns/mnt > /ctr.mnt"])
    init_pid = env.state(cid)["pid"]
    assert read_log(log) == ["prestart", "createRuntime", "createContainer"]
    env.start(cid)
    env.wait_status(cid, "stopped")
    assert read_log(log) == KINDS[:5]
    env.delete(cid)
    assert read_log(log) == KINDS
    check_hook_outputs(env, log, cid, init_pid, (env.rootfs / "ctr.mnt").read_text().strip())


def test_hooks_order_run(env):
    log = install_hooks(env)
    cid = env.new_id()
    r = env.run(["sh", "-c", "readlink /proc/self/ns/mnt > /ctr.mnt; echo $$"], id=cid)
    assert r.rc == 0, r
    assert read_log(log) == KINDS
    st = json.loads(open(f"{log}.createRuntime.json").read())
    check_hook_outputs(env, log, cid, st["pid"], (env.rootfs / "ctr.mnt").read_text().strip())


ENV_HOOK = '#!/bin/sh\necho "$1|${HOSTVAR:-unset}|${ONLY:-unset}|${PROCVAR:-unset}" > "$2"\n'


def _env_hooks(env, out):
    script = env.dir / "env.sh"
    script.write_text(ENV_HOOK)
    script.chmod(0o755)
    env.write_rootfs("/env.sh", ENV_HOOK)
    env.process["env"].append("PROCVAR=fromprocess")
    env.add_hook("createRuntime", str(script), ["argzero", "two words", str(out) + ".runtime"])
    env.add_hook("prestart", str(script), ["env.sh", "x", str(out) + ".exact"], env=["ONLY=1"])
    env.add_hook("startContainer", "/env.sh", ["env.sh", "x", "/env.start"])


def _read_env_hooks(out, rootfs):
    return [pathlib.Path(str(out) + ".runtime").read_text().strip(),
            pathlib.Path(str(out) + ".exact").read_text().strip(),
            (rootfs / "env.start").read_text().strip()]


def test_hook_env(env, monkeypatch):
    """Without env a hook gets the runtime's environment (a startContainer hook,
    run as the container's process, the process's); with env exactly that."""
    monkeypatch.setenv("HOSTVAR", "fromruntime")
    out = env.dir / "env.out"
    _env_hooks(env, out)
    r = env.run(["true"])
    assert r.rc == 0, r
    want = ["two words|fromruntime|unset|unset",
            "x|unset|1|unset",
            "x|unset|unset|fromprocess"]
    assert _read_env_hooks(out, env.rootfs) == want
    runc = shutil.which("runc")
    if runc:
        root = tempfile.mkdtemp(dir=env.dir)
        rid = env.new_id()
        rr = subprocess.run([runc, "--root", root, "run", "-b", str(env.bundle), rid],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=20, env=dict(os.environ))
        subprocess.run([runc, "--root", root, "delete", "-f", rid], capture_output=True)
        assert rr.returncode == 0, rr
        assert _read_env_hooks(out, env.rootfs) == want


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_leaves_nothing(env, kind):
    env.add_hook(kind, "/bin/sh", ["sh", "-c", "echo failing >&2; exit 3"])
    cid = env.new_id()
    env.process["args"] = ["touch", "/program-ran"]
    env.save()
    r = env.berth("create", "-b", env.bundle, cid)
    assert r.rc == 1, r
    assert kind in r.err, r
    assert env.container_ids() == []
    r = env.berth("state", cid)
    assert r.rc == 1
    assert not (env.rootfs / "program-ran").exists()


def test_failing_create_hook_through_run(env):
    env.add_hook("createRuntime", "/bin/false")
    r = env.run(["touch", "/program-ran"])
    assert r.rc == 1, r
    assert "createRuntime" in r.err
    assert not (env.rootfs / "program-ran").exists()
    assert env.container_ids() == []


def test_failing_start_container_hook(env):
    env.add_hook("startContainer", "/bin/false")
    cid, _ = env.create(["touch", "/program-ran"])
    r = env.start(cid, check=False)
    assert r.rc == 1, r
    assert "startContainer" in r.err, r
    time.sleep(0.2)
    assert not (env.rootfs / "program-ran").exists()


def test_failing_poststart_hook_fails_the_start(env):
    """runtime-spec 1.3: no longer a warning (more in test_spec13.py)."""
    env.add_hook("poststart", "/bin/false")
    cid, _ = env.create(["touch", "/program-ran"])
    r = env.start(cid, check=False)
    assert r.rc == 1, r
    assert "poststart" in r.err, r
    assert env.container_ids() == []


def test_failing_poststop_hook_is_a_warning(env):
    env.add_hook("poststop", "/bin/false")
    cid, _ = env.create(["true"])
    r = env.delete(cid, check=False)
    assert r.rc == 0, r
    assert env.container_ids() == []


def test_hook_timeout(env):
    script = env.dir / "slow.sh"
    pidfile = env.dir / "slow.pid"
    # a hook that would outlive the test's patience: only the timeout ends it
    script.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 600\n")
    script.chmod(0o755)
    env.add_hook("createRuntime", str(script), timeout=1)
    env.save()
    r = env.berth("create", "-b", env.bundle, env.new_id(), timeout=120)
    assert r.rc == 1, r
    assert "createRuntime" in r.err and "time" in r.err, r
    pid = int(pidfile.read_text())
    time.sleep(0.1)
    try:
        with open(f"/proc/{pid}/stat") as f:
            alive = f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        alive = False
    assert not alive, "timed-out hook still running"
    assert env.container_ids() == []


def test_hook_missing_binary(env):
    env.add_hook("prestart", "/no/such/hook")
    r = env.run(["true"])
    assert r.rc == 1, r
    assert "/no/such/hook" in r.err, r
    assert env.container_ids() == []


def test_relative_hook_path_refused(env):
    env.add_hook("prestart", "relative/hook")
    r = env.run(["true"])
    assert r.rc == 1, r
    assert "config.json: hooks.prestart[0].path" in r.err, r


# ---------------------------------------------------------------------------
# what a hook can reach: privileges and inherited fds

BUILD = pathlib.Path(BERTH).parent
HOOKPROBE = BUILD / "berth-test-hookprobe"
EPERM = 1


@pytest.fixture
def hookprobe(env):
    """berth-test-hookprobe at /probe in the rootfs and at <dir>/probe on the host."""
    if not HOOKPROBE.exists():
        pytest.skip(f"{HOOKPROBE} not built")
    shutil.copy(HOOKPROBE, env.rootfs / "probe")
    shutil.copy(HOOKPROBE, env.dir / "probe")
    out = env.rootfs / "out"
    out.mkdir()
    out.chmod(0o777)  # the hook and the program may run as an unprivileged user
    return out


def probe_report(path):
    """The probe's report as a dict of its lines ("Uid:" -> "1000 1000 1000 1000")."""
    rep = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=") if "=" in line.split(":")[0] else line.partition(":")
        rep[key.strip()] = " ".join(value.split())
    return rep


SYNC_DENIED = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["sync"], "action": "SCMP_ACT_ERRNO"}]}
CAPS = ["CAP_CHOWN", "CAP_KILL"]
CASES = {
    # a user with ambient capabilities, no_new_privs, a filter installed unprivileged
    "user-nnp": dict(user={"uid": 1000, "gid": 1000, "additionalGids": [1001]},
                     capabilities={k: CAPS for k in ("bounding", "effective", "permitted",
                                                     "inheritable", "ambient")},
                     noNewPrivileges=True, seccomp=SYNC_DENIED),
    # root with berth spec's capabilities, the filter installed while privileged
    "root-no-nnp": dict(user={"uid": 0, "gid": 0}, noNewPrivileges=False, seccomp=SYNC_DENIED),
    # root, no filter at all: only the capabilities keep it from the host
    "root-no-seccomp": dict(user={"uid": 0, "gid": 0}, noNewPrivileges=True, seccomp=None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_start_container_hook_runs_as_the_process(env, hookprobe, case):
    """startContainer hooks are image content: they run with the user, groups,
    capabilities, no_new_privs, seccomp filter and fds of the container's process,
    never with the runtime's privileges (open_by_handle_at reaches the host)."""
    c = dict(CASES[case])
    seccomp = c.pop("seccomp")
    env.process.update(c)
    if seccomp:
        env.linux["seccomp"] = seccomp
    else:
        env.linux.pop("seccomp", None)
    env.add_hook("startContainer", "/probe", ["probe", "/out/hook"])
    r = env.run(["/probe", "/out/program"])
    assert r.rc == 0, r

    hook = probe_report(hookprobe / "hook")
    program = probe_report(hookprobe / "program")
    assert hook["open_by_handle_at"] == str(EPERM), hook
    uid, gid = str(c["user"]["uid"]), str(c["user"]["gid"])
    assert hook["Uid"] == " ".join([uid] * 4), hook
    assert hook["Gid"] == " ".join([gid] * 4), hook
    assert hook["NoNewPrivs"] == ("1" if c["noNewPrivileges"] else "0"), hook
    assert hook["Seccomp"] == ("2" if seccomp else "0"), hook
    assert hook["fds"] == "0,1,2", hook
    assert hook == program


def test_start_container_hook_under_the_filter(env, hookprobe):
    """The filter applies to startContainer hooks: one that forbids what a hook
    needs fails the hook with an error naming it, and the program never runs."""
    env.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                            "syscalls": [{"names": ["execve", "execveat"],
                                          "action": "SCMP_ACT_ERRNO"}]}
    env.add_hook("startContainer", "/probe", ["probe", "/out/hook"])
    cid, _ = env.create(["/probe", "/out/program"])
    r = env.start(cid, check=False)
    assert r.rc == 1, r
    assert 'startContainer hook "/probe": exec: Operation not permitted' in r.err, r
    assert not (hookprobe / "hook").exists()
    assert not (hookprobe / "program").exists()


def test_hooks_inherit_only_stdio(env, hookprobe):
    """No hook, on the host or in the container, inherits the fds berth was given."""
    for k in KINDS:
        if k == "startContainer":
            env.add_hook(k, "/probe", ["probe", "/out/" + k])
        else:
            env.add_hook(k, str(env.dir / "probe"), ["probe", str(hookprobe / k)])
    leaked = [os.open(env.dir / "leak", os.O_RDWR | os.O_CREAT) for _ in range(2)]
    try:
        r = env.run(["true"], pass_fds=leaked)
    finally:
        for fd in leaked:
            os.close(fd)
    assert r.rc == 0, r
    for k in KINDS:
        assert probe_report(hookprobe / k)["fds"] == "0,1,2", k


# ---------------------------------------------------------------------------
# a failed hook leaves no process behind


def gone(pid, timeout=20.0):
    """True once pid has exited (a zombie counts); a kill is not instant."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


FAILING = {
    # a background child keeps the hook's stdout open after the hook failed: it goes too
    "exit": ("sleep 1000 & echo $! > {pids}; exit 3", "exited with status 3", None),
    "signal": ("sleep 1000 & echo $! > {pids}; kill -9 $$", "killed by signal 9", None),
    "timeout": ("sleep 1000 & echo $! > {pids}; echo $$ >> {pids}; exec sleep 1000",
                "timed out after 1s", 1),
}


@pytest.mark.parametrize("kind", ["prestart", "createRuntime"])
@pytest.mark.parametrize("how", sorted(FAILING))
def test_failed_hook_leaves_no_process(env, kind, how):
    script, message, timeout = FAILING[how]
    pids = env.dir / "hook.pids"
    hook = env.dir / "hook.sh"
    hook.write_text("#!/bin/sh\n" + script.format(pids=pids) + "\n")
    hook.chmod(0o755)
    env.add_hook(kind, str(hook), timeout=timeout)
    env.process["args"] = ["true"]
    env.save()
    r = env.berth("create", "-b", env.bundle, env.new_id(), timeout=60)
    assert r.rc == 1, r
    assert f'{kind} hook "{hook}": {message}' in r.err, r
    left = [int(p) for p in pids.read_text().split()]
    assert left
    stragglers = [p for p in left if not gone(p)]
    for p in stragglers:
        os.kill(p, signal.SIGKILL)
    assert stragglers == [], "hook processes left behind"
    assert env.container_ids() == []


def test_successful_hook_may_leave_a_daemon(env):
    """Only a failed hook's processes are killed: what a hook that succeeded started
    (a daemon, even one still detaching) is its own, and berth does not wait for it,
    though it holds berth's stdout."""
    pids = env.dir / "hook.pids"
    hook = env.dir / "hook.sh"
    hook.write_text(f"#!/bin/sh\nsleep 1000 & echo $! > {pids}\nexit 0\n")
    hook.chmod(0o755)
    env.add_hook("createRuntime", str(hook))
    try:
        r = env.run(["true"])
        assert r.rc == 0, r
        assert not gone(int(pids.read_text()), timeout=0)
    finally:
        if pids.exists() and not gone(int(pids.read_text()), timeout=0):
            os.kill(int(pids.read_text()), signal.SIGKILL)


def test_hooks_waited_for_with_sigchld_ignored(env):
    """An ignored SIGCHLD is inherited through exec: berth must still see how each
    hook ended instead of failing to wait for it."""
    env.add_hook("createRuntime", "/bin/sh", ["sh", "-c", "exit 0"])
    env.add_hook("createRuntime", "/bin/sh", ["sh", "-c", "exit 4"])
    env.process["args"] = ["true"]
    env.save()
    argv = [BERTH, "--root", str(env.root), "create", "-b", str(env.bundle), env.new_id()]
    with tempfile.TemporaryFile("w+") as fe:
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=fe, text=True, timeout=60,
                            env=dict(os.environ, **{MARK: env.mark}),
                            preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
        fe.seek(0)
        err = fe.read()
    assert cp.returncode == 1, err
    assert 'createRuntime hook "/bin/sh": exited with status 4' in err, err
    assert env.container_ids() == []
