# SPDX-License-Identifier: LGPL-2.1-or-later
"""What container engines rely on beyond the OCI spec (found running podman,
containerd and docker on berth, tests/engines/): HOME from the container's
/etc/passwd when the engine leaves it out, and exec lookup errors in the words
engines match to pick exit codes 127/126."""

import json
import os

import pytest


def _no_home(env):
    env.process["env"] = [e for e in env.process["env"] if not e.startswith("HOME=")]


@pytest.mark.parametrize("uid,home", [(0, "/root"), (1000, "/home/user"), (4242, "/")])
def test_home_from_container_passwd(env, uid, home):
    _no_home(env)
    env.process["user"] = {"uid": uid, "gid": uid}
    r = env.run(["sh", "-c", 'echo "$HOME"; env | grep -c ^HOME='])
    assert r.rc == 0, r
    assert r.out.splitlines() == [home, "1"], r


def test_home_given_is_kept(env):
    _no_home(env)
    env.process["env"].append("HOME=/given")
    env.process["user"] = {"uid": 1000, "gid": 1000}
    r = env.run(["sh", "-c", 'echo "$HOME"; env | grep -c ^HOME='])
    assert r.out.splitlines() == ["/given", "1"], r


def test_home_without_passwd_is_root_dir(env):
    _no_home(env)
    os.unlink(env.rootfs / "etc" / "passwd")
    r = env.run(["sh", "-c", 'echo "$HOME"'])
    assert r.out == "/\n", r


def test_exec_process_without_home(env):
    # docker's and containerd's exec process files carry PATH and HOSTNAME only
    _no_home(env)
    env.process["args"] = ["sleep", "1000"]
    cid, _ = env.create()
    env.start(cid, check=True)
    proc = dict(env.process, args=["sh", "-c", 'echo "$HOME"'],
                env=["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=x"],
                user={"uid": 1000, "gid": 1000})
    pf = env.dir / "process.json"
    pf.write_text(json.dumps(proc))
    r = env.berth("exec", "--process", pf, cid)
    assert r.rc == 0 and r.out == "/home/user\n", r


@pytest.mark.parametrize("how", ["run", "exec"])
def test_missing_program_words(env, how):
    env.write_rootfs("bin/not-executable", "#!/bin/sh\n", mode=0o644)
    if how == "run":
        r = env.run(["/no/such/program"])
        r2 = env.run(["/bin/not-executable"])
    else:
        env.process["args"] = ["sleep", "1000"]
        cid, _ = env.create()
        env.start(cid, check=True)
        r = env.berth("exec", cid, "/no/such/program")
        r2 = env.berth("exec", cid, "/bin/not-executable")
    # docker's client maps these lowercase words to 127 and 126
    assert r.rc != 0 and 'exec: "/no/such/program": no such file or directory' in r.err, r
    assert r2.rc != 0 and 'exec: "/bin/not-executable": permission denied' in r2.err, r2
