# SPDX-License-Identifier: LGPL-2.1-or-later
"""What berth reads back from its state root must be something berth wrote and
nobody else could: the root itself, the compiled seccomp programs of
<root>/.seccomp-cache, each container's state dir, state.json and config.json.

The attacks: a cache entry forged by another user (an "allow everything"
program under the exact key of the container's profile), a state dir planted
by another user that names a victim process as the container's init."""

import hashlib
import json
import os
import pathlib
import shutil
import struct
import subprocess

import pytest

from conftest import BERTH

BUILD = pathlib.Path(BERTH).parent
PROBE = BUILD / "berth-test-syscall"
NOBODY = 65534
ERRNO = 5

# one BPF instruction: BPF_RET|BPF_K SECCOMP_RET_ALLOW
ALLOW_ALL = struct.pack("<HBBI", 0x06, 0, 0, 0x7FFF0000)
HEADER = struct.Struct("<8s32sIIII")  # magic, key, flags, notify, n_insns, warn_len


def probe_result(r):
    line = [l for l in r.out.splitlines() if l.startswith("ret=")]
    assert line, r
    ret, err = line[-1].split()
    return int(ret.split("=")[1]), int(err.split("=")[1])


@pytest.fixture
def filtered(env):
    """A container whose profile denies getppid with errno 5; its cache entry, compiled
    by berth, is then overwritten with a well-formed "allow everything" program."""
    if not PROBE.exists():
        pytest.skip(f"{PROBE} not built")
    shutil.copy(PROBE, env.rootfs / "probe")
    env.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": ERRNO}]}
    env.process["args"] = ["/probe", "getppid"]
    env.save()
    r = env.berth("--debug", "run", "-b", env.bundle, env.new_id(), check=True)
    assert "(compiled)" in r.err and probe_result(r) == (-1, ERRNO), r
    cache = env.root / ".seccomp-cache"
    assert os.stat(env.root).st_mode & 0o777 == 0o700
    assert os.stat(cache).st_mode & 0o777 == 0o700
    (entry,) = list(cache.iterdir())
    assert entry.stat().st_mode & 0o777 == 0o600

    magic, key, flags, _, _, _ = HEADER.unpack_from(entry.read_bytes())
    body = HEADER.pack(magic, key, flags, 0, 1, 0) + ALLOW_ALL
    entry.write_bytes(body + hashlib.sha256(body).digest())
    # the forgery is well formed: where berth trusts the cache, it loads it
    r = env.berth("--debug", "run", "-b", env.bundle, env.new_id(), check=True)
    assert "(cached)" in r.err and probe_result(r)[0] >= 0, r
    yield cache, entry
    for p in (env.root, cache, entry):
        if p.exists():
            os.chown(p, 0, 0)
    env.root.chmod(0o700)
    if cache.exists():
        cache.chmod(0o700)


@pytest.mark.parametrize("how", ["cache-dir-owner", "file-owner", "file-mode", "cache-dir-mode"])
def test_seccomp_cache_written_by_someone_else_is_not_loaded(env, filtered, how):
    cache, entry = filtered
    if how == "cache-dir-owner":
        os.chown(cache, NOBODY, NOBODY)
        os.chown(entry, NOBODY, NOBODY)
    elif how == "file-owner":
        os.chown(entry, NOBODY, NOBODY)
    elif how == "file-mode":
        entry.chmod(0o666)
    else:
        cache.chmod(0o777)
    r = env.berth("--debug", "run", "-b", env.bundle, env.new_id())
    assert r.rc == 0 and "(compiled)" in r.err, r
    assert probe_result(r) == (-1, ERRNO), r


@pytest.mark.parametrize("how,reason", [
    ("owner", f"is owned by uid {NOBODY}, not 0"),
    ("mode", "is writable by group or others (mode 0777)"),
])
def test_state_root_of_someone_else_is_refused(env, filtered, how, reason):
    if how == "owner":
        os.chown(env.root, NOBODY, NOBODY)
    else:
        env.root.chmod(0o777)
    cid = env.new_id()
    r = env.berth("run", "-b", env.bundle, cid)
    assert r.rc == 1 and len(r.err_lines) == 1, r
    assert f'state root "{env.root}" {reason}' in r.err, r
    assert "ret=" not in r.out, r
    assert not (env.root / cid).exists()
    for args in (["list"], ["state", cid], ["delete", cid]):
        r = env.berth(*args)
        assert r.rc == 1 and f'state root "{env.root}" {reason}' in r.err, r


def test_berth_makes_its_state_root_private(env):
    env.root.parent.mkdir(parents=True, exist_ok=True)
    old = os.umask(0)
    try:
        r = env.run(["true"])
    finally:
        os.umask(old)
    assert r.rc == 0, r
    assert env.root.stat().st_mode & 0o777 == 0o700


def start_time(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


@pytest.mark.parametrize("how", ["dir-owner", "dir-mode", "file-owner", "file-mode"])
def test_planted_state_dir_is_not_trusted(env, how):
    """A state.json naming a victim as the container's init: berth kill must not signal it."""
    env.run(["true"], check=True)  # berth makes the root
    victim = subprocess.Popen(["sleep", "1000"])
    cid = env.new_id()
    d = env.root / cid
    try:
        d.mkdir(mode=0o700)
        st = d / "state.json"
        st.write_text(json.dumps({"id": cid, "bundle": str(env.bundle), "pid": victim.pid,
                                  "pidStartTime": start_time(victim.pid), "started": True}))
        st.chmod(0o600)
        (d / "config.json").write_text(json.dumps(env.cfg))
        if how == "dir-owner":
            for p in (d, st, d / "config.json"):
                os.chown(p, NOBODY, NOBODY)
            reason = f'state dir "{d}" is owned by uid {NOBODY}, not 0'
        elif how == "dir-mode":
            d.chmod(0o777)
            reason = f'state dir "{d}" is accessible by group or others (mode 0777)'
        elif how == "file-owner":
            os.chown(st, NOBODY, NOBODY)
            reason = f'state of "{cid}": state.json is owned by uid {NOBODY}, not 0'
        else:
            st.chmod(0o666)
            reason = f'state of "{cid}": state.json is writable by group or others'
        for args in (["kill", cid, "KILL"], ["state", cid], ["delete", "--force", cid]):
            r = env.berth(*args)
            assert r.rc == 1 and len(r.err_lines) == 1 and reason in r.err, r
        assert victim.poll() is None, "berth signalled a process a planted state.json named"
        r = env.berth("list", "-q")
        assert r.rc == 0 and cid not in r.out, r
    finally:
        victim.kill()
        victim.wait()
        shutil.rmtree(d, ignore_errors=True)


def test_saved_config_of_someone_else_is_not_read(env):
    env.process["args"] = ["sleep", "1000"]
    cid, _ = env.create()
    env.start(cid)
    cfg = env.root / cid / "config.json"
    os.chown(cfg, NOBODY, NOBODY)
    try:
        r = env.berth("exec", cid, "true")
        assert r.rc == 1 and len(r.err_lines) == 1, r
        assert f"config.json is owned by uid {NOBODY}, not 0" in r.err, r
    finally:
        os.chown(cfg, 0, 0)
    r = env.berth("exec", cid, "true")
    assert r.rc == 0, r
