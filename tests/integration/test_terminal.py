# SPDX-License-Identifier: LGPL-2.1-or-later
"""process.terminal: the pty allocated in the container's devpts, handed to a
console-socket receiver (as conmon and containerd's shim take it) or relayed
by berth to its own terminal in raw mode, with window sizes.

The receiver stands in for an engine: a unix stream socket that takes one fd
with SCM_RIGHTS. berth's own terminal is a pty made here (python's pty module).
"""

import fcntl
import json
import os
import pty
import select
import signal
import socket
import stat
import struct
import termios
import time

import pytest

from conftest import BERTH


class Receiver:
    """A console socket: listen, then take the master fd berth sends."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.sock.settimeout(10)

    def take(self):
        conn, _ = self.sock.accept()
        with conn:
            msg, fds, _, _ = socket.recv_fds(conn, 1024, 4)
        assert len(fds) == 1, (msg, fds)
        return msg, fds[0]

    def close(self):
        self.sock.close()
        os.unlink(self.path)


@pytest.fixture
def receiver(env):
    r = Receiver(env.dir / "console.sock")
    yield r
    r.close()


def read_until(fd, needle, timeout=10.0):
    """Read from a pty master until needle shows up; returns everything read."""
    buf = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not seen in {buf!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side is gone
            break
        if not chunk:
            break
        buf += chunk
    if needle.encode() not in buf:
        raise AssertionError(f"{needle!r} not seen in {buf!r}")
    return buf.decode(errors="replace")


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def test_console_socket_create_start(env, receiver):
    env.process["terminal"] = True
    env.process["consoleSize"] = {"height": 31, "width": 93}
    cid, r = env.create(["sh"], extra=("--console-socket", receiver.path))
    assert r.rc == 0, r
    # sent during create, before start: the name is what runc sends
    msg, master = receiver.take()
    try:
        assert msg == b"/dev/ptmx"
        assert os.isatty(master)
        env.start(cid)
        os.write(master, b"echo hi-$((40+2)); tty; stty size; "
                         b"test -c /dev/console && echo con''sole-ok\n")
        out = read_until(master, "console-ok")
        assert "hi-42" in out and "/dev/pts/0" in out and "31 93" in out, out
        os.write(master, b"exit 7\n")
        env.wait_status(cid, "stopped")
    finally:
        os.close(master)


def test_console_socket_exec(env, receiver):
    env.process["args"] = ["sleep", "1000"]
    cid, _ = env.create()
    env.start(cid)
    pidfile = env.dir / "e.pid"
    proc = {"terminal": True, "consoleSize": {"height": 21, "width": 77},
            "args": ["sh", "-c", "stty size; tty; read x; echo got-$x; exit 3"],
            "cwd": "/", "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0}}
    pf = env.dir / "process.json"
    pf.write_text(json.dumps(proc))
    # podman's shape: --pid-file --process --detach --tty --console-socket
    r = env.berth("exec", "--pid-file", pidfile, "--process", pf, "--detach", "--tty",
                  "--console-socket", receiver.path, cid)
    assert r.rc == 0, r
    msg, master = receiver.take()
    try:
        out = read_until(master, "/dev/pts/")
        assert "21 77" in out, out
        os.write(master, b"yes\n")
        out = read_until(master, "got-yes")
        pid = int(pidfile.read_text())
        # detached: not berth's child any more, so watch it through /proc
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not gone(pid):
            time.sleep(0.02)
        assert gone(pid)
    finally:
        os.close(master)


def test_create_console_socket_that_nobody_listens_on(env):
    env.process["terminal"] = True
    cid, r = env.create(["true"], extra=("--console-socket", env.dir / "nope.sock"),
                        check=False)
    assert r.rc == 1 and len(r.err_lines) == 1 and "console socket" in r.err, r
    assert env.container_ids() == []


def spawn_on_pty(argv, rows, cols, environ):
    """Run argv with a new pty as its controlling terminal; returns (pid, master)."""
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, environ)
        finally:
            os._exit(127)
    set_winsize(master, rows, cols)
    return pid, master


def end_pty(pid, master):
    """Kill and reap the process pty.fork() started unless the test reaped it (its PID may
    be another process's by then); close its master."""
    try:
        if os.waitpid(pid, os.WNOHANG) == (0, 0):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    os.close(master)


def test_run_relays_a_terminal_in_raw_mode(env):
    env.process["terminal"] = True
    env.process["args"] = ["sh", "-c", "stty size; echo ready; read x; stty size; "
                           "echo got-$x; exit 3"]
    env.save()
    argv = [BERTH, "--root", str(env.root), "run", "-b",
            str(env.bundle), env.new_id()]
    environ = dict(os.environ, BERTH_TEST_MARK=env.mark)
    pid, master = spawn_on_pty(argv, 30, 100, environ)
    try:
        out = read_until(master, "ready")
        assert "30 100" in out, out
        # berth's side of the terminal is raw while the container runs
        attrs = termios.tcgetattr(master)
        assert not (attrs[3] & termios.ICANON) and not (attrs[3] & termios.ECHO)
        # a resize of berth's terminal reaches the container (SIGWINCH)
        set_winsize(master, 45, 132)
        time.sleep(0.3)
        os.write(master, b"go\r")
        out = read_until(master, "got-go")
        assert "45 132" in out, out
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3, status
        # restored on exit
        attrs = termios.tcgetattr(master)
        assert attrs[3] & termios.ICANON and attrs[3] & termios.ECHO
    finally:
        end_pty(pid, master)


def test_run_console_size_wins_over_berths_terminal(env):
    env.process["terminal"] = True
    env.process["consoleSize"] = {"height": 12, "width": 34}
    env.process["args"] = ["sh", "-c", "stty size; exit 0"]
    env.save()
    argv = [BERTH, "--root", str(env.root), "run", "-b",
            str(env.bundle), env.new_id()]
    pid, master = spawn_on_pty(argv, 50, 150, dict(os.environ, BERTH_TEST_MARK=env.mark))
    try:
        out = read_until(master, "12 34")
        assert "50 150" not in out, out
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    finally:
        end_pty(pid, master)


def test_run_terminal_without_a_tty_does_not_hang(env):
    env.process["terminal"] = True
    r = env.run(["sh", "-c", "tty; echo out-ok; exit 4"], timeout=20)
    assert r.rc == 4, r
    assert "/dev/pts/0" in r.out and "out-ok" in r.out, r
    # stdin from a pipe reaches the pty; its end is an end of file for the program
    r = env.run(["sh", "-c", "read a; echo got-$a; cat; echo cat-done"], input="one\ntwo\n")
    assert r.rc == 0 and "got-one" in r.out and "cat-done" in r.out, r


def test_exec_tty_relay_on_a_pty(env):
    env.process["args"] = ["sleep", "1000"]
    cid, _ = env.create()
    env.start(cid)
    argv = [BERTH, "--root", str(env.root), "exec", "-t", cid,
            "sh", "-c", "stty size; tty; exit 6"]
    pid, master = spawn_on_pty(argv, 33, 111, dict(os.environ, BERTH_TEST_MARK=env.mark))
    try:
        out = read_until(master, "/dev/pts/")
        assert "33 111" in out, out
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 6, status
    finally:
        end_pty(pid, master)


# -- /dev/console is mounted on, never through a symlink


CONSOLE_CHECK = ("stat -c '%n %F' /etc/console-target; "
                 "grep -c ' /etc/console-target ' /proc/self/mountinfo; "
                 "stat -c '%n %F %t' /dev/console; echo check-done")


def console_outcome(env, r, target_text):
    """Refused with a clear message, or the pty on a real /dev/console: never on the target."""
    if r.rc != 0:
        assert "console" in r.err and len(r.err_lines) == 1, r
    else:
        assert "check-done" in r.out, r
        assert "/etc/console-target regular file" in r.out, r
        assert "\n0\r\n" in r.out or "\n0\n" in r.out, r
        assert "/dev/console character special file 88" in r.out, r
    assert (env.rootfs / "etc" / "console-target").read_text() == target_text, r
    assert not (env.rootfs / "etc" / "console-dangling").exists(), r


@pytest.mark.parametrize("target", ["/etc/console-target", "/etc/console-dangling"])
def test_console_symlink_on_bound_dev(env, target):
    # /dev is a bind of a directory made here, whose console is a symlink into the rootfs
    fake = env.dir / "fakedev"
    fake.mkdir()
    os.mknod(fake / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.chmod(fake / "null", 0o666)
    os.symlink("pts/ptmx", fake / "ptmx")
    os.symlink(target, fake / "console")
    env.write_rootfs("/etc/console-target", "target\n", 0o644)
    env.cfg["mounts"] = [dict(m, type="bind", source=str(fake), options=["rbind"])
                         if m["destination"] == "/dev" else m for m in env.cfg["mounts"]]
    env.process["terminal"] = True
    r = env.run(["sh", "-c", CONSOLE_CHECK])
    console_outcome(env, r, "target\n")
    assert os.readlink(fake / "console") == target
    assert sorted(n for n in os.listdir(fake) if not (fake / n).is_dir()) == \
        ["console", "null", "ptmx"], r


def test_console_symlink_in_the_image_dev(env):
    # no /dev tmpfs: the image's own /dev, with console a symlink to a file of the image
    for d in ("/dev", "/dev/shm", "/dev/mqueue"):
        env.remove_mount(d)
    env.linux["devices"] = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3}]
    (env.rootfs / "dev" / "pts").mkdir()
    os.symlink("pts/ptmx", env.rootfs / "dev" / "ptmx")
    os.symlink("/etc/console-target", env.rootfs / "dev" / "console")
    env.write_rootfs("/etc/console-target", "target\n", 0o644)
    env.process["terminal"] = True
    r = env.run(["sh", "-c", CONSOLE_CHECK])
    console_outcome(env, r, "target\n")


def test_console_swapped_for_a_symlink_before_the_mount(env):
    # the /dev tmpfs berth makes, whose console a createContainer hook (running in the
    # container's mount namespace, before pivot_root) swaps for a symlink
    env.write_rootfs("/etc/console-target", "target\n", 0o644)
    dev = env.rootfs / "dev"
    hook = env.dir / "swap-console.sh"
    hook.write_text(f"#!/bin/sh\nrm -f {dev}/console && ln -s /etc/console-target "
                    f"{dev}/console\n")
    hook.chmod(0o755)
    env.add_hook("createContainer", str(hook))
    env.process["terminal"] = True
    r = env.run(["sh", "-c", CONSOLE_CHECK])
    console_outcome(env, r, "target\n")


def test_console_with_dev_a_symlink_of_the_image(env):
    # an image whose /dev is a symlink inside it: the tmpfs goes there, and so does the pty
    os.rmdir(env.rootfs / "dev")
    os.symlink("/realdev", env.rootfs / "dev")
    env.write_rootfs("/etc/console-target", "target\n", 0o644)
    env.process["terminal"] = True
    r = env.run(["sh", "-c", CONSOLE_CHECK])
    assert r.rc == 0, r
    console_outcome(env, r, "target\n")


def test_console_socket_without_terminal_is_refused(env):
    from test_cli import RUNC, Runc
    env.process["terminal"] = False
    env.process["args"] = ["true"]
    env.save()
    sock = env.dir / "console.sock"  # never reached: refused before
    runc = Runc(env) if RUNC else None
    try:
        for name, tool in (("berth", env.berth), ("runc", runc)):
            if tool is None:
                continue
            for verb in ("create", "run"):
                cid = ("r" if name == "runc" else "") + env.new_id()
                env.ids.add(cid)
                r = tool(verb, "--bundle", env.bundle, "--console-socket", sock, cid)
                assert r.rc == 1 and "console" in r.err, (name, verb, r)
                if name == "berth":
                    assert len(r.err_lines) == 1 and "process.terminal" in r.err, r
                assert tool("state", cid).rc != 0, (name, verb)
    finally:
        if runc:
            runc.close()


def test_terminal_output_has_no_carriage_returns(env):
    """Where berth relays the pty itself (run, exec -t), ONLCR is cleared on it as
    runc does: the program's "\\n" reaches berth's stdout as is, not as "\\r\\n"
    (seen where stdin is a terminal and stdout a file)."""
    from test_cli import RUNC, Runc
    env.process["terminal"] = True
    env.process["args"] = ["sh", "-c", "printf 'one\\ntwo\\n'; stty -F /dev/console -a 2>/dev/null | "
                           "tr ' ' '\\n' | grep -x -e onlcr -e -onlcr"]
    env.save()
    runc = Runc(env) if RUNC else None
    environ = dict(os.environ, BERTH_TEST_MARK=env.mark)
    got = {}
    try:
        for name, binary, root in (("berth", BERTH, env.root),
                                   ("runc", RUNC, runc.root if runc else None)):
            if name == "runc" and not runc:
                continue
            cid = ("r" if name == "runc" else "") + env.new_id()
            env.ids.add(cid)
            if name == "runc":
                runc.ids.append(cid)
            argv = [binary, "--root", str(root), "run", "--bundle", str(env.bundle), cid]
            out = env.dir / f"{name}.out"
            pid, master = pty.fork()
            if pid == 0:
                try:
                    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    os.dup2(fd, 1)
                    os.execve(argv[0], argv, environ)
                finally:
                    os._exit(127)
            try:
                _, status = os.waitpid(pid, 0)
                assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (name, status)
                got[name] = out.read_bytes()
            finally:
                end_pty(pid, master)
    finally:
        if runc:
            runc.close()
    assert got["berth"] == b"one\ntwo\n-onlcr\n", got
    if "runc" in got:
        assert got["runc"] == got["berth"], got
