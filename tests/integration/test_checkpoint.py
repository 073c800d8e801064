# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth checkpoint / restore on the host, where CRIU cannot work: without criu
(BERTH_CRIU naming no program) and with a criu that refuses (this host's kernel
is too new for Debian's criu, or a stand-in that fails). One clear line each,
the container untouched, nothing left behind. The round trips themselves run
in the VM (tests/vm/test_vm_criu.py)."""

import os
import shutil

import pytest


def running(env):
    env.process["args"] = ["sleep", "1000"]
    cid, _ = env.create()
    env.start(cid, check=True)
    return cid


def one_line(r):
    lines = r.err.strip().splitlines()
    assert r.rc == 1 and len(lines) == 1, r
    return lines[0]


def test_checkpoint_without_criu(env, monkeypatch, tmp_path):
    cid = running(env)
    monkeypatch.setenv("BERTH_CRIU", str(tmp_path / "no-criu"))
    line = one_line(env.berth("checkpoint", "--image-path", tmp_path / "img", cid))
    assert f'checkpoint "{cid}": criu is not installed' in line, line
    assert env.state(cid)["status"] == "running"


def test_restore_without_criu_leaves_nothing(env, monkeypatch, tmp_path):
    env.save()
    monkeypatch.setenv("BERTH_CRIU", str(tmp_path / "no-criu"))
    cid = env.new_id()
    line = one_line(env.berth("restore", "-d", "-b", env.bundle, "--image-path",
                              tmp_path / "img", cid))
    assert f'restore "{cid}": criu is not installed' in line, line
    assert not (env.root / cid).exists()


def test_checkpoint_criu_refuses(env, monkeypatch, tmp_path):
    """A criu that dies without an answer: the error says so and the container runs on."""
    fake = tmp_path / "criu"
    fake.write_text("#!/bin/sh\necho 'Error (criu/x.c:1): refused here' > dump.log\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("BERTH_CRIU", str(fake))
    cid = running(env)
    img = tmp_path / "img"
    line = one_line(env.berth("checkpoint", "--image-path", img, cid))
    assert f'checkpoint "{cid}": criu exited without an answer' in line, line
    assert "refused here" in line and f"log: {img}/dump.log" in line, line
    assert env.state(cid)["status"] == "running"


@pytest.mark.parametrize("cmd", ["checkpoint", "restore"])
def test_empty_ns_that_is_no_namespace_fails_in_one_line(env, tmp_path, cmd):
    """--empty-ns takes a namespace's name (runc's); anything else is refused before
    CRIU runs: one line naming the value, the container running on (checkpoint),
    nothing made (restore)."""
    cid = running(env) if cmd == "checkpoint" else env.new_id()
    args = ["-d", "-b", env.bundle] if cmd == "restore" else []
    line = one_line(env.berth(cmd, *args, "--empty-ns", "netw0rk", "--image-path",
                              tmp_path / "img", cid))
    assert f'{cmd} "{cid}": --empty-ns: "netw0rk" is not a namespace' in line, line
    if cmd == "checkpoint":
        assert env.state(cid)["status"] == "running"
    else:
        assert not (env.root / cid).exists()
    assert not (tmp_path / "img").exists()


@pytest.mark.skipif(not shutil.which("criu") or os.environ.get("BERTH_IN_VM"),
                    reason="needs the host's criu (too old for its kernel)")
def test_checkpoint_real_criu_refusing_this_kernel(env, tmp_path):
    cid = running(env)
    r = env.berth("checkpoint", "--image-path", tmp_path / "img", cid, timeout=60)
    if r.rc == 0:
        pytest.skip("criu works on this kernel")
    line = one_line(r)
    assert f'checkpoint "{cid}": criu dump' in line and "dump.log" in line, line
    assert env.state(cid)["status"] == "running"


def fake_images(tmp_path):
    img = tmp_path / "img"
    img.mkdir()
    (img / "inventory.img").write_bytes(b"")
    return img


def fake_criu(tmp_path, monkeypatch):
    fake = tmp_path / "criu"
    fake.write_text("#!/bin/sh\necho 'Error (criu/x.c:1): refused here' > restore.log\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("BERTH_CRIU", str(fake))


def test_restore_terminal_without_console_socket_names_restore(env, monkeypatch, tmp_path):
    """The error names restore's own ways out (--console-socket, --shim), not create's."""
    fake_criu(tmp_path, monkeypatch)
    env.process["terminal"] = True
    env.save()
    cid = env.new_id()
    line = one_line(env.berth("restore", "-d", "-b", env.bundle, "--image-path",
                              fake_images(tmp_path), cid))
    assert f'restore "{cid}": ' in line, line
    assert "needs --console-socket with restore (or use --shim)" in line, line
    assert not (env.root / cid).exists()


def test_restore_shim_failing_leaves_nothing(env, monkeypatch, tmp_path):
    """restore --shim: CRIU's refusal comes back through the shim's report as one line,
    and no state dir, shim or cgroup stays."""
    fake_criu(tmp_path, monkeypatch)
    env.process["args"] = ["sleep", "1000"]
    env.save()
    cid = env.new_id()
    img = fake_images(tmp_path)
    line = one_line(env.berth("restore", "--shim", "-b", env.bundle, "--image-path", img, cid))
    assert f'restore "{cid}": criu exited without an answer' in line, line
    assert "refused here" in line and f"log: {img}/restore.log" in line, line
    assert not (env.root / cid).exists()
    assert env.berth("state", cid).rc != 0


def test_restore_reads_no_fifo_or_symlink_of_the_images(env, monkeypatch, tmp_path):
    """The image dir is not trusted: berth's own files there are read only as regular
    files, never through a symlink (to a host file) or from a FIFO (it blocked restore)."""
    import subprocess
    name = "descriptors.json"
    fake_criu(tmp_path, monkeypatch)
    env.save()
    img = fake_images(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    for target in (tmp_path / "fifo", "/etc/hostname"):
        (img / name).unlink(missing_ok=True)
        (img / name).symlink_to(target)
        cid = env.new_id()
        try:
            r = env.berth("restore", "-d", "-b", env.bundle, "--image-path", img, cid,
                          timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"restore blocked on {name} -> {target}")
        line = one_line(r)
        assert f"{name} is not a regular file" in line, line
        assert not (env.root / cid).exists()
