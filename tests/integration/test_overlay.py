# SPDX-License-Identifier: LGPL-2.1-or-later
"""Overlay root filesystems (berth.rootfs.lower/upper/work): shared lower
layers, isolated writes, nothing reaches a lower layer, cleanup on delete,
read-only roots, clear errors for bad layers."""

import time

import pytest

from conftest import mounts_under


def overlay_env(env, lower="rootfs", upper=None, readonly=False):
    """The busybox rootfs becomes the lower layer; root.path an empty directory."""
    empty = env.bundle / "merged"
    empty.mkdir(exist_ok=True)
    env.cfg["root"] = {"path": "merged", "readonly": readonly}
    ann = env.cfg.setdefault("annotations", {})
    ann["berth.rootfs.lower"] = lower
    if upper:
        ann["berth.rootfs.upper"] = upper
    else:
        ann.pop("berth.rootfs.upper", None)
    return empty


def test_shared_lower_isolated_writes(env):
    empty = overlay_env(env)
    a, _ = env.create(["sh", "-c", "echo from-a > /new; echo a >> /etc/passwd; rm /bin/ls"])
    env.start(a)
    env.wait_status(a, "stopped")
    # a's writes are in its own upper layer, in its state dir
    upper = env.root / a / "overlay" / "upper"
    assert (upper / "new").read_text() == "from-a\n"
    # b shares the lower layer and sees none of them
    r = env.sh("cat /new; tail -1 /etc/passwd; ls /bin/ls")
    assert "from-a" not in r.out, r
    assert r.out.strip().splitlines()[0].startswith("nobody:"), r
    assert "/bin/ls" in r.out, r
    # nothing reached the lower layer or root.path
    assert not (env.rootfs / "new").exists()
    assert (env.rootfs / "bin" / "ls").is_symlink()
    assert not (env.rootfs / "etc" / "passwd").read_text().endswith("a\n")
    assert list(empty.iterdir()) == []
    # the overlay lives only in the container's mount namespace
    assert mounts_under(empty) == []
    env.delete(a)
    assert not (env.root / a).exists()


def test_two_running_containers_share_a_layer(env):
    overlay_env(env)
    ids = []
    for n in ("one", "two"):
        cid, _ = env.create(["sh", "-c", f"echo {n} > /who; sleep 30"])
        env.start(cid)
        ids.append(cid)
    for cid, n in zip(ids, ("one", "two")):
        who = env.root / cid / "overlay" / "upper" / "who"
        for _ in range(200):
            if who.exists() and who.read_text():
                break
            time.sleep(0.02)
        assert who.read_text() == f"{n}\n"
    assert not (env.rootfs / "who").exists()
    for cid in ids:
        env.delete(cid, force=True)
        assert not (env.root / cid).exists()


def test_layers_stack_top_first(env):
    top = env.bundle / "top"
    (top / "etc").mkdir(parents=True)
    (top / "etc" / "motd").write_text("top layer\n")
    (top / "etc" / "hostname").write_text("from-top\n")
    overlay_env(env, lower=f"top:{env.rootfs}")
    r = env.sh("cat /etc/motd /etc/hostname; echo x > /etc/motd; cat /etc/motd")
    assert r.rc == 0, r
    assert r.out.splitlines() == ["top layer", "from-top", "x"]
    assert (top / "etc" / "motd").read_text() == "top layer\n"


def test_persistent_upper(env):
    upper = env.bundle / "upper"
    upper.mkdir()
    overlay_env(env, upper="upper")
    r = env.sh("echo kept > /data")
    assert r.rc == 0, r
    assert (upper / "data").read_text() == "kept\n"
    assert (env.bundle / "upper.work").is_dir()
    r = env.sh("cat /data")
    assert r.out == "kept\n", r
    assert not (env.rootfs / "data").exists()


def test_readonly_root(env):
    overlay_env(env, readonly=True)
    r = env.sh("echo x > /f && echo wrote; cat /etc/passwd | head -1")
    assert "wrote" not in r.out
    assert "Read-only file system" in r.err
    assert "root:x:0:0" in r.out
    cid, _ = env.create()
    assert not (env.root / cid / "overlay").exists()


@pytest.mark.parametrize("lower,msg", [
    ("/nonexistent-berth-layer",
     'layer "/nonexistent-berth-layer": No such file or directory'),
    ("rootfs:missing", 'layer "missing": No such file or directory'),
    ("config.json", 'layer "config.json" is not a directory'),
    ("::", "no layer directory"),
])
def test_bad_layer(env, lower, msg):
    overlay_env(env, lower=lower)
    r = env.create(check=False)[1]
    assert r.rc != 0
    assert r.err_lines[-1].startswith('berth: create "')
    assert f'config.json: annotations["berth.rootfs.lower"]: {msg}' in r.err, r
    assert env.container_ids() == []
    assert mounts_under(env.bundle) == []


def test_upper_needs_lower(env):
    env.cfg.setdefault("annotations", {})["berth.rootfs.upper"] = "x"
    r = env.create(check=False)[1]
    assert r.rc != 0
    assert 'annotations["berth.rootfs.upper"]: needs "berth.rootfs.lower"' in r.err, r
    assert env.container_ids() == []


def test_failed_create_removes_upper(env):
    overlay_env(env)
    env.process["args"] = ["/no/such/program"]
    r = env.create(check=False)[1]
    assert r.rc != 0, r
    assert env.container_ids() == []
    assert mounts_under(env.bundle) == []


def test_user_namespace_needs_an_upper(env):
    overlay_env(env)
    env.set_ns("user")
    env.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    env.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    r = env.create(check=False)[1]
    assert r.rc != 0
    assert ('annotations["berth.rootfs.lower"]: with a user namespace, give a writable '
            'layer in "berth.rootfs.upper"') in r.err, r
    assert env.container_ids() == []
