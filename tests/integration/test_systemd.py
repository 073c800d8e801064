# SPDX-License-Identifier: LGPL-2.1-or-later
"""Running under systemd: the NOTIFY_SOCKET relay and LISTEN_FDS passthrough.

A python datagram socket stands in for systemd's notify socket. Inside the
container, berth-test-notify (a static helper meson builds next to berth,
copied into the rootfs) sends its arguments as datagrams to $NOTIFY_SOCKET.
"""

import json
import os
import pathlib
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import BERTH, Result

BUILD = pathlib.Path(BERTH).parent
NOTIFY = BUILD / "berth-test-notify"
UNIT = pathlib.Path(__file__).resolve().parents[2] / "contrib" / "systemd" / "berth@.service"


@pytest.fixture
def listener(env):
    if not NOTIFY.exists():
        pytest.skip(f"{NOTIFY} not built")
    (env.rootfs / "bin" / "notify").write_bytes(NOTIFY.read_bytes())
    (env.rootfs / "bin" / "notify").chmod(0o755)
    path = env.dir / "systemd-notify.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.setblocking(False)
    yield s, str(path)
    s.close()


def received(s):
    out = []
    while True:
        try:
            out.append(s.recv(4096).decode())
        except BlockingIOError:
            return out


def berth_env(env, **extra):
    e = dict(os.environ, BERTH_TEST_MARK=env.mark)
    for k in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
        e.pop(k, None)
    e.update(extra)
    return e


def popen(env, args, **extra):
    argv = [BERTH, "--root", str(env.root)] + [str(a) for a in args]
    fo, fe = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, text=True,
                         env=berth_env(env, **extra))
    return p, fo, fe, argv


def finish(p, fo, fe, argv, timeout=20):
    rc = p.wait(timeout=timeout)
    fo.seek(0)
    fe.seek(0)
    return Result(argv, rc, fo.read(), fe.read())


def wait_for(pred, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out")


SCRIPT = ("echo $NOTIFY_SOCKET > /tmp/ns; notify STATUS=starting MAINPID=1; touch /tmp/step1; "
          "while [ ! -e /go ]; do sleep 0.05; done; notify READY=1; "
          "notify STATUS=serving; while [ ! -e /stop ]; do sleep 0.05; done")


def check_relay(env, s, cid):
    # before READY=1 nothing reaches "systemd", not even the STATUS= sent already
    wait_for(lambda: (env.rootfs / "tmp" / "step1").exists())
    time.sleep(0.3)
    assert received(s) == []
    assert (env.rootfs / "tmp" / "ns").read_text().strip() == "/run/notify/notify.sock"
    pid = env.state(cid)["pid"]
    (env.rootfs / "go").write_text("")
    msgs = wait_for(lambda: received(s), timeout=10)
    first = msgs[0].splitlines()
    assert "READY=1" in first
    # MAINPID: the container's process as the host sees it, not the container's pid 1
    assert f"MAINPID={pid}" in first
    assert "MAINPID=1" not in first
    assert "STATUS=starting" in first
    later = msgs[1:] + wait_for(lambda: received(s) if len(msgs) < 2 else msgs[1:])
    assert any("STATUS=serving" in m for m in later), msgs
    (env.rootfs / "stop").write_text("")


def test_notify_relay_foreground(env, listener):
    s, path = listener
    env.process["args"] = ["sh", "-c", SCRIPT]
    env.save()
    cid = env.new_id()
    p, fo, fe, argv = popen(env, ["run", "-b", env.bundle, cid], NOTIFY_SOCKET=path)
    try:
        wait_for(lambda: cid in env.container_ids())
        check_relay(env, s, cid)
        r = finish(p, fo, fe, argv)
        assert r.rc == 0, r
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_notify_relay_detached(env, listener):
    s, path = listener
    env.process["args"] = ["sh", "-c", SCRIPT]
    env.save()
    cid = env.new_id()
    p, fo, fe, argv = popen(env, ["run", "-d", "-b", env.bundle, cid], NOTIFY_SOCKET=path)
    r = finish(p, fo, fe, argv)
    assert r.rc == 0, r
    check_relay(env, s, cid)
    assert env.berth("wait", cid, check=True).out.strip() == "0"
    env.delete(cid)


def test_notify_not_set_up_without_notify_socket(env):
    r = env.sh("echo ns=$NOTIFY_SOCKET; [ -e /run/notify ] && echo mounted || echo none")
    assert r.rc == 0, r
    assert r.out.split() == ["ns=", "none"]


def test_listen_fds_passthrough(env):
    rfd, wfd = os.pipe()
    try:
        env.process["args"] = ["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID $LISTEN_FDNAMES >&3"]
        env.save()
        cid = env.new_id()
        # fd 3 in berth, as systemd passes it; LISTEN_PID unset means "whoever execs it"
        argv = ["bash", "-c", f'exec 3>&{wfd} {wfd}>&-; exec "$@"', "-",
                BERTH, "--root", str(env.root), "run", "-b", str(env.bundle), cid]
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=20, pass_fds=(wfd,),
                            env=berth_env(env, LISTEN_FDS="1", LISTEN_FDNAMES="web"))
        assert cp.returncode == 0, cp.stderr
        os.close(wfd)
        wfd = -1
        # LISTEN_PID is the container process's own pid (1 in its pid namespace)
        assert os.read(rfd, 100).decode().split() == ["1", "1", "web"]
    finally:
        os.close(rfd)
        if wfd >= 0:
            os.close(wfd)


def test_listen_fds_for_another_process_ignored(env):
    env.process["args"] = ["sh", "-c", "echo fds=$LISTEN_FDS"]
    env.save()
    cid = env.new_id()
    cp = subprocess.run([BERTH, "--root", str(env.root), "run", "-b", str(env.bundle), cid],
                        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20,
                        env=berth_env(env, LISTEN_FDS="1", LISTEN_PID="1"))
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "fds="


def test_unit_template():
    text = UNIT.read_text()
    keys = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            keys.setdefault(k.strip(), []).append(v.strip())
    assert keys["Type"] == ["notify"]
    assert keys["NotifyAccess"] == ["all"]
    assert any("berth" in v and " run " in f" {v} " and "%i" in v for v in keys["ExecStart"])
    assert any("kill" in v and "%i" in v for v in keys["ExecStop"])
    assert any("delete --force" in v and "%i" in v for v in keys["ExecStopPost"])
    assert "/var/lib/berth/bundles/%i" in text
    if not os.path.exists("/usr/bin/systemd-analyze"):
        return
    sa = subprocess.run(["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True)
    # berth and its man pages need not be installed here; anything else is a unit error
    bad = [l for l in sa.stderr.splitlines()
           if l.strip() and "is not executable" not in l and "Command 'man " not in l]
    assert not bad, sa.stderr


# ---- --systemd-cgroup without systemd (this host); the driver itself is tested in the VM ----


def test_systemd_cgroup_without_a_bus_is_one_clear_line(env):
    env.save()
    cid = env.new_id()
    missing = env.dir / "no-bus.sock"
    argv = [BERTH, "--root", str(env.root), "--systemd-cgroup", "run", "-b", str(env.bundle), cid]
    for address, shown in ((f"unix:path={missing}", str(missing)),
                           (None, "/run/dbus/system_bus_socket")):
        if address is None and os.path.exists(shown):
            continue  # a host with a system bus: only the address given above applies
        e = berth_env(env)
        e.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        if address:
            e["DBUS_SYSTEM_BUS_ADDRESS"] = address
        r = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=30,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 1, r
        assert r.stderr.splitlines() == [
            f'berth: create "{cid}": --systemd-cgroup: connect to the system bus at '
            f'"{shown}": No such file or directory'], r.stderr
        assert env.container_ids() == []


def _pad(b, n):
    return b + b"\0" * (-len(b) % n)


def _dbus_reply(serial, reply_serial, error=None, body_str=None):
    """A method return (or error) as a bus daemon sends it: little-endian, fields a(yv)."""
    def field(code, sig, value):
        return _pad(bytes([code, 1]) + sig.encode() + b"\0", 4) + value

    def s(v):
        v = v.encode()
        return len(v).to_bytes(4, "little") + v + b"\0"

    body = s(body_str) if body_str is not None else b""
    fields = [field(5, "u", reply_serial.to_bytes(4, "little"))]
    if error:
        fields.append(field(4, "s", s(error)))
    if body:
        fields.append(field(8, "g", b"\x01s\0"))
    arr = b""
    for f in fields:
        arr = _pad(arr, 8) + f
    head = bytes([ord("l"), 3 if error else 2, 1, 1]) + len(body).to_bytes(4, "little") + \
        (1000 + reply_serial).to_bytes(4, "little") + len(arr).to_bytes(4, "little") + arr
    return _pad(head, 8) + body


def _fake_bus(path, hello_error, seen):
    """Serve one client: SASL EXTERNAL, then answer Hello (with an error if asked)."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(20)

    def serve():
        try:
            c, _ = srv.accept()
        except OSError:
            return
        with c:
            c.settimeout(20)
            buf = b""
            while b"\r\n" not in buf:
                buf += c.recv(1)
            seen.append(buf)
            c.sendall(b"OK 0123456789abcdef0123456789abcdef\r\n")
            buf = b""
            while b"BEGIN\r\n" not in buf:
                buf += c.recv(1)
            head = b""
            while len(head) < 16:
                head += c.recv(16 - len(head))
            flen = int.from_bytes(head[12:16], "little")
            blen = int.from_bytes(head[4:8], "little")
            rest = b""
            need = (16 + flen + 7) // 8 * 8 + blen - 16
            while len(rest) < need:
                rest += c.recv(need - len(rest))
            seen.append(head + rest)
            serial = int.from_bytes(head[8:12], "little")
            if hello_error:
                c.sendall(_dbus_reply(serial, serial, error=hello_error[0], body_str=hello_error[1]))
            else:
                c.sendall(_dbus_reply(serial, serial, body_str=":1.42"))
            c.recv(1)  # until berth hangs up

    import threading
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv, t


@pytest.mark.parametrize("hello_error", [None, ("org.freedesktop.DBus.Error.AccessDenied",
                                                "not you")])
def test_systemd_cgroup_talks_dbus(env, hello_error):
    """A fake bus: berth authenticates as its uid, says Hello, reports an error reply as one line."""
    env.save()
    cid = env.new_id()
    d = tempfile.mkdtemp(prefix="berth-bus-")
    path = os.path.join(d, "bus")
    seen = []
    srv, t = _fake_bus(path, hello_error, seen)
    try:
        e = berth_env(env, DBUS_SYSTEM_BUS_ADDRESS=f"unix:guid=00,path={path}")
        argv = [BERTH, "--root", str(env.root), "--systemd-cgroup", "run", "-b", str(env.bundle),
                cid]
        r = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=30,
                           stdin=subprocess.DEVNULL)
        t.join(10)
    finally:
        srv.close()
        os.unlink(path)
        os.rmdir(d)
    assert r.returncode == 1, r
    # SASL EXTERNAL with the uid as hex-encoded decimal text
    uid_hex = str(os.geteuid()).encode().hex().encode()
    assert seen[0] == b"\0AUTH EXTERNAL " + uid_hex + b"\r\n", seen
    hello = seen[1]
    assert hello[:4] == b"l\x01\x00\x01" and b"Hello\0" in hello and b"org.freedesktop.DBus\0" in hello
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    if hello_error:
        assert lines[0] == (f'berth: create "{cid}": --systemd-cgroup: system bus: Hello: '
                            "org.freedesktop.DBus.Error.AccessDenied: not you"), r.stderr
    else:
        # past the bus: this host is not the cgroup v2 host the driver needs, or
        # the fake bus hangs up before the calls to systemd; one line either way
        assert lines[0].startswith(f'berth: create "{cid}": --systemd-cgroup'), r.stderr
    assert env.container_ids() == []


def test_delete_of_a_scope_container_survives_a_lost_bus(env):
    """The state names a unit but the bus is gone: delete still removes the container,
    with a warning naming the bus (the cgroup is removed; the unit would go by itself)."""
    cid, _ = env.create(["sleep", "100"])
    path = env.root / cid / "state.json"
    st = json.loads(path.read_text())
    st["systemdUnit"] = f"berth-{cid}.scope"
    path.write_text(json.dumps(st))
    missing = env.dir / "gone.sock"
    argv = [BERTH, "--root", str(env.root), "delete", "--force", cid]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                       env=berth_env(env, DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={missing}"))
    assert r.returncode == 0, r
    assert r.stderr.splitlines() == [
        f'berth: warning: delete "{cid}": --systemd-cgroup: connect to the system bus at '
        f'"{missing}": No such file or directory'], r.stderr
    assert env.container_ids() == []
