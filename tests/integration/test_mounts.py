# SPDX-License-Identifier: LGPL-2.1-or-later
"""The root filesystem seen from inside: mounts in /proc/self/mountinfo,
mount options, masked and read-only paths, /dev and linux.devices, and the
symlink escape of a mount destination."""

import os
import stat

import pytest


def mountinfo(r):
    """mount point -> (mount options, fs type, super options) from a cat of mountinfo."""
    assert r.rc == 0, r
    out = {}
    for line in r.out.splitlines():
        pre, post = line.split(" - ", 1)
        f = pre.split()
        p = post.split()
        out[f[4]] = (set(f[5].split(",")), p[0], set(p[2].split(",")) if len(p) > 2 else set())
    return out


def sh_berth_and_runc(env, script):
    """[(runtime, stdout)] of sh -c script run by berth and, when installed, by runc; each
    run must succeed."""
    r = env.sh(script)
    assert r.rc == 0, r
    out = [("berth", r.out)]
    rr = env.runc_run(["sh", "-c", script])
    if rr is not None:
        assert rr.returncode == 0, rr
        out.append(("runc", rr.stdout))
    return out


def test_standard_mounts(env):
    mi = mountinfo(env.sh("cat /proc/self/mountinfo"))
    assert mi["/proc"][1] == "proc"
    assert mi["/dev"][1] == "tmpfs"
    assert mi["/dev/pts"][1] == "devpts"
    assert mi["/dev/shm"][1] == "tmpfs"
    assert mi["/sys"][1] == "sysfs" and "ro" in mi["/sys"][0]
    assert "nosuid" in mi["/dev"][0]
    # nothing of the host's mount table is left
    assert not any(m.startswith("/work") or m.startswith("/tmp/berth-it") for m in mi)


def test_root_readonly(env):
    env.cfg["root"]["readonly"] = True
    r = env.sh("cat /proc/self/mountinfo; touch /newfile && echo WROTE; touch /dev/shm/ok && echo shm-ok")
    assert "WROTE" not in r.out
    assert "shm-ok" in r.out
    mi = mountinfo(env.sh("cat /proc/self/mountinfo"))
    assert "ro" in mi["/"][0]
    assert not (env.rootfs / "newfile").exists()


def test_root_writable(env):
    r = env.sh("touch /newfile && echo ok")
    assert r.out == "ok\n", r
    assert (env.rootfs / "newfile").exists()


def test_masked_paths(env):
    masked = env.linux.get("maskedPaths", [])
    assert "/proc/kcore" in masked and "/proc/keys" in masked
    present = [p for p in masked if os.path.exists(p)]
    assert "/proc/keys" in present
    r = env.sh("cat /proc/self/mountinfo; echo ===; "
               "for p in " + " ".join(present) + "; do "
               "if [ -d $p ]; then echo $p $(ls -A $p 2>/dev/null | wc -l); "
               "else echo $p $(cat $p 2>/dev/null | wc -c); fi; done")
    mi_text, rest = r.out.split("===\n")
    points = {line.split()[4] for line in mi_text.splitlines()}
    for p in present:
        assert p in points, f"{p} not masked"
    for line in rest.splitlines():
        p, n = line.split()
        assert n == "0", f"{p} readable inside: {n}"


def test_masked_paths_custom(env):
    env.linux["maskedPaths"] = ["/etc/hostname", "/home", "/does/not/exist"]
    r = env.sh("cat /etc/hostname; echo ==; test -e /home/user && echo VISIBLE; "
               "touch /home/x && echo W; true")
    assert r.rc == 0, r
    parts = r.out.split("==\n")
    assert parts[0] == ""
    assert "VISIBLE" not in parts[1] and "W" not in parts[1], r
    assert not (env.rootfs / "home" / "x").exists()


def test_masked_directory_is_empty_readonly_tmpfs(env):
    """A masked directory is covered by an empty read-only tmpfs, as runc does: anyone may
    list it (empty), nobody may write to it."""
    env.linux["maskedPaths"] = ["/home"]
    env.process["user"] = {"uid": 1000, "gid": 1000}
    script = ("grep ' /home ' /proc/self/mountinfo; ls -A /home && echo LISTED; "
              "stat -c 'MODE %a' /home; (touch /home/x) 2>/dev/null && echo WROTE; true")
    for name, stdout in sh_berth_and_runc(env, script):
        lines = stdout.splitlines()
        assert " - tmpfs " in lines[0] and " ro" in lines[0], (name, stdout)
        assert lines[1:3] == ["LISTED", "MODE 1777"], (name, stdout)
        assert "WROTE" not in stdout, (name, stdout)
    assert not (env.rootfs / "home" / "x").exists()


def test_readonly_paths(env):
    ro = env.linux.get("readonlyPaths", [])
    assert "/proc/sys" in ro
    r = env.sh("cat /proc/self/mountinfo; echo 1 > /proc/sys/kernel/domainname && echo WROTE")
    assert "WROTE" not in r.out
    lines = {l.split()[4]: l for l in r.out.splitlines() if len(l.split()) > 5}
    assert "ro" in lines["/proc/sys"].split()[5].split(",")


def test_readonly_paths_custom(env):
    env.linux["readonlyPaths"] = ["/home"]
    r = env.sh("touch /home/x && echo WROTE; touch /tmp/y && echo tmp-ok")
    assert "WROTE" not in r.out and "tmp-ok" in r.out, r


def test_tmpfs_options(env):
    env.add_mount("/mnt/t", "tmpfs", "tmpfs", ["nosuid", "nodev", "noexec", "size=1m", "mode=700"])
    env.add_mount("/mnt/r", "tmpfs", "tmpfs", ["ro"])
    r = env.sh("cat /proc/self/mountinfo; stat -c 'MODE %a' /mnt/t; touch /mnt/r/x && echo W")
    assert "W\n" not in r.out
    mi = mountinfo(env.sh("cat /proc/self/mountinfo"))
    opts, fstype, sopts = mi["/mnt/t"]
    assert fstype == "tmpfs"
    assert {"nosuid", "nodev", "noexec"} <= opts
    assert "size=1024k" in sopts
    assert "MODE 700" in r.out
    assert "ro" in mi["/mnt/r"][0]


def test_tmpfs_without_mode_takes_the_mode_it_covers(env):
    """A tmpfs without mode= takes the mode of the directory it covers (runc), 0755 for a
    destination made for it."""
    (env.rootfs / "data").mkdir()
    (env.rootfs / "data").chmod(0o750)
    env.add_mount("/data", "tmpfs", "tmpfs", ["nosuid"])
    env.add_mount("/fresh", "tmpfs", "tmpfs", ["nosuid"])
    for name, stdout in sh_berth_and_runc(env, "stat -c '%n %a' /data /fresh"):
        assert stdout.splitlines() == ["/data 750", "/fresh 755"], (name, stdout)


def test_bind_mount_ro_and_rw(env):
    src = env.dir / "shared"
    src.mkdir()
    (src / "f").write_text("host-data\n")
    env.add_mount("/mnt/rw", None, str(src), ["bind"])
    env.add_mount("/mnt/ro", None, str(src), ["bind", "ro"])
    r = env.sh("cat /mnt/ro/f; echo x > /mnt/ro/g && echo W; echo from-container > /mnt/rw/h")
    assert r.out.startswith("host-data\n"), r
    assert "W\n" not in r.out
    assert (src / "h").read_text() == "from-container\n"
    assert not (src / "g").exists()


def test_bind_mount_file(env):
    src = env.dir / "file.txt"
    src.write_text("single file\n")
    env.add_mount("/etc/injected", "bind", str(src), ["rbind", "ro"])
    r = env.sh("cat /etc/injected")
    assert r.out == "single file\n", r


def test_rro_recursive_readonly(env):
    src = env.dir / "tree"
    (src / "sub").mkdir(parents=True)
    env.add_mount("/mnt/tree", None, str(src), ["rbind"])
    env.add_mount("/mnt/tree/sub", "tmpfs", "tmpfs", [])
    env.add_mount("/mnt/tree2", None, str(src), ["rbind", "rro"])
    r = env.sh("touch /mnt/tree2/x && echo W1; touch /mnt/tree/sub/y && echo tmpfs-rw")
    assert "W1" not in r.out and "tmpfs-rw" in r.out, r


def test_mount_relative_source_from_bundle(env):
    (env.bundle / "data").mkdir()
    (env.bundle / "data" / "v").write_text("rel\n")
    env.add_mount("/mnt/rel", None, "data", ["bind"])
    r = env.sh("cat /mnt/rel/v")
    assert r.out == "rel\n", r


def test_mqueue_and_cgroup_mounts(env):
    env.set_ns("cgroup")
    env.remove_mount("/sys/fs/cgroup")
    env.add_mount("/sys/fs/cgroup", "cgroup2", "cgroup", ["nosuid", "noexec", "nodev", "ro"])
    env.remove_mount("/dev/mqueue")
    env.add_mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"])
    mi = mountinfo(env.sh("cat /proc/self/mountinfo"))
    assert mi["/dev/mqueue"][1] == "mqueue"
    assert mi["/sys/fs/cgroup"][1] == "cgroup2"


def test_overlay_mount(env):
    for d in ("lower", "upper", "work"):
        (env.dir / d).mkdir()
    (env.dir / "lower" / "l").write_text("lower\n")
    env.add_mount("/mnt/ov", "overlay", "overlay",
                  [f"lowerdir={env.dir}/lower", f"upperdir={env.dir}/upper",
                   f"workdir={env.dir}/work"])
    r = env.sh("cat /mnt/ov/l; echo up > /mnt/ov/u")
    assert r.out == "lower\n", r
    assert (env.dir / "upper" / "u").read_text() == "up\n"


def test_tmpcopyup(env):
    env.add_mount("/etc", "tmpfs", "tmpfs", ["tmpcopyup"])
    r = env.sh("grep -c root /etc/passwd; echo changed > /etc/passwd")
    assert r.out.split()[0] == "1", r
    assert "root" in (env.rootfs / "etc" / "passwd").read_text()


@pytest.mark.parametrize("name", ["proc", "sys"])
def test_proc_or_sys_symlink_in_rootfs_refused(env, name):
    """An image whose /proc or /sys is a symlink is refused (runc): procfs or sysfs would be
    mounted wherever the image points it."""
    (env.rootfs / name).rmdir()
    (env.rootfs / "elsewhere").mkdir()
    (env.rootfs / name).symlink_to("/elsewhere")
    r = env.sh("echo RAN")
    assert r.rc != 0 and "RAN" not in r.out, r
    assert f"'/{name}'" in r.err and "symlink" in r.err, r
    rr = env.runc_run(["sh", "-c", "echo RAN"])
    if rr is not None:
        assert rr.returncode != 0 and "RAN" not in rr.stdout, rr
    assert not any((env.rootfs / "elsewhere").iterdir())


def test_mount_destination_created(env):
    env.add_mount("/a/b/c", "tmpfs", "tmpfs", [])
    mi = mountinfo(env.sh("cat /proc/self/mountinfo"))
    assert mi["/a/b/c"][1] == "tmpfs"
    assert (env.rootfs / "a" / "b" / "c").is_dir()


# -- symlinks in the image must not send a mount outside the rootfs


def test_symlink_mount_destination_stays_inside(env):
    host_target = env.dir / "host_target"
    host_target.mkdir()
    os.symlink(str(host_target), env.rootfs / "mnt" / "evil")
    env.add_mount("/mnt/evil/x", "tmpfs", "tmpfs", [])
    src = env.dir / "bindsrc"
    src.mkdir()
    env.add_mount("/mnt/evil/y", None, str(src), ["bind"])
    r = env.sh("echo hi > /mnt/evil/x/inside; cat /proc/self/mountinfo")
    assert r.rc == 0, r
    assert list(host_target.iterdir()) == [], "a mount destination escaped the rootfs"
    inside = env.rootfs / str(host_target).lstrip("/")
    assert (inside / "x").is_dir() and (inside / "y").is_dir()


def test_symlink_dotdot_destination_stays_inside(env):
    host_target = env.dir / "host_target2"
    host_target.mkdir()
    # relative link climbing far above the rootfs
    os.symlink("../../../../../../../../../../.." + str(host_target), env.rootfs / "mnt" / "up")
    env.add_mount("/mnt/up/z", "tmpfs", "tmpfs", [])
    r = env.run(["true"])
    assert r.rc == 0, r
    assert list(host_target.iterdir()) == []
    assert (env.rootfs / str(host_target).lstrip("/") / "z").is_dir()


def test_symlink_device_path_stays_inside(env):
    host_target = env.dir / "host_dev"
    host_target.mkdir()
    os.symlink(str(host_target), env.rootfs / "mnt" / "devlink")
    env.linux["devices"] = [{"path": "/mnt/devlink/null2", "type": "c", "major": 1, "minor": 3}]
    r = env.run(["true"])
    # refused or created inside: never on the host
    assert list(host_target.iterdir()) == [], r


def test_symlink_cwd_stays_inside(env):
    host_target = env.dir / "host_cwd"
    host_target.mkdir()
    os.symlink(str(host_target), env.rootfs / "mnt" / "cwdlink")
    env.process["cwd"] = "/mnt/cwdlink/newdir"
    r = env.sh("pwd; touch here")
    assert list(host_target.iterdir()) == [], r


# -- /dev


def test_standard_devices(env):
    r = env.sh(
        "echo x > /dev/null && echo null-ok; "
        "head -c 10 /dev/zero | wc -c; "
        "echo x > /dev/full 2>/tmp/err; cat /tmp/err; "
        "head -c 4 /dev/urandom | wc -c; head -c 4 /dev/random | wc -c; "
        "for d in null zero full random urandom tty ptmx; do stat -c '%n %F %t:%T' /dev/$d; done; "
        "for l in fd stdin stdout stderr; do readlink /dev/$l; done; "
        "test -d /dev/pts && echo pts; test -d /dev/shm && echo shm")
    lines = r.out.splitlines()
    assert lines[0] == "null-ok"
    assert lines[1].strip() == "10"
    assert "No space left on device" in lines[2]
    assert lines[3].strip() == "4" and lines[4].strip() == "4"
    want = {"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7", "/dev/random": "1:8",
            "/dev/urandom": "1:9", "/dev/tty": "5:0"}
    for l in lines[5:12]:
        name, rest = l.split(" ", 1)
        if name == "/dev/ptmx" and rest.startswith("symbolic link"):
            continue  # a link to pts/ptmx is fine
        assert "character special file" in rest, l
        if name in want:
            assert rest.endswith(want[name]), l
    assert lines[12:16] == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1",
                            "/proc/self/fd/2"]
    assert "pts" in lines and "shm" in lines


def test_linux_devices(env):
    env.linux["devices"] = [
        {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640,
         "uid": 0, "gid": 0},
        {"path": "/dev/sub/myzero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o600,
         "uid": 1000, "gid": 1000},
        {"path": "/dev/loopfake", "type": "b", "major": 7, "minor": 200},
        {"path": "/dev/myfifo", "type": "p"},
    ]
    r = env.sh("for d in mynull sub/myzero loopfake myfifo; do "
               "stat -c '%n %F %t:%T %a %u:%g' /dev/$d; done; echo x > /dev/mynull && echo ok")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0] == "/dev/mynull character special file 1:3 640 0:0"
    assert lines[1] == "/dev/sub/myzero character special file 1:5 600 1000:1000"
    assert lines[2].startswith("/dev/loopfake block special file 7:c8")
    assert lines[3].startswith("/dev/myfifo fifo")
    assert lines[4] == "ok"


def test_linux_devices_not_allowed_by_cgroup(env):
    """A linux.devices entry makes a node, not a device cgroup rule (runc): under a
    deny-all rule the node stays closed. Opening /dev/kmsg write-only writes nothing."""
    env.linux["devices"] = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11,
                             "fileMode": 0o600}]
    env.linux.setdefault("resources", {})["devices"] = [{"allow": False, "access": "rwm"}]
    script = "test -c /dev/kmsg && echo NODE; (: > /dev/kmsg) && echo OPENED; true"
    r = env.sh(script)
    assert r.rc == 0, r
    assert "NODE" in r.out, r
    assert "OPENED" not in r.out, r
    rr = env.runc_run(["sh", "-c", script])
    if rr is not None:
        assert rr.returncode == 0 and "NODE" in rr.stdout, rr
        assert "OPENED" not in rr.stdout, rr


def test_readonly_dev_then_pts(env):
    """A read-only /dev tmpfs followed by /dev/pts: berth fills /dev and mounts pts, then
    makes /dev read-only (runc)."""
    for m in env.cfg["mounts"]:
        if m["destination"] == "/dev":
            m["options"] = [o for o in m.get("options", []) if o != "rw"] + ["ro"]
    script = ("grep -E ' /dev(/pts)? ' /proc/self/mountinfo | cut -d' ' -f5,6; "
              "test -c /dev/null && echo NULL; test -c /dev/pts/ptmx && echo PTS; "
              "(touch /dev/x) 2>/dev/null && echo WROTE; true")
    for name, stdout in sh_berth_and_runc(env, script):
        mi = dict(l.split() for l in stdout.splitlines() if l.startswith("/dev"))
        assert "ro" in mi["/dev"].split(","), (name, stdout)
        assert "/dev/pts" in mi, (name, stdout)
        assert "NULL" in stdout and "PTS" in stdout, (name, stdout)
        assert "WROTE" not in stdout, (name, stdout)


def test_dev_is_not_host_dev(env):
    r = env.sh("ls /dev | wc -l; test -e /dev/vda && echo host-disk")
    assert "host-disk" not in r.out, r


# -- a /dev that is not berth's: bind-mounted (from the host or anywhere else)
#
# These tests never touch the host's /dev: they bind a directory made here,
# holding a few nodes made with mknod, as the container's /dev.

USERNS_ID = 100000


def make_fake_dev(path):
    """A test-made /dev: null (1:3), a kmsg-like node (1:11) and a sentinel (1:7)."""
    path.mkdir()
    os.mknod(path / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(path / "kmsg", 0o644 | stat.S_IFCHR, os.makedev(1, 11))
    os.mknod(path / "sentinel", 0o600 | stat.S_IFCHR, os.makedev(1, 7))
    for n in ("null", "kmsg", "sentinel"):
        os.chmod(path / n, os.stat(path / n).st_mode & 0o7777)
    return path


def node_facts(path):
    """What berth must not change: the non-directories of path and their identity."""
    out = {}
    for n in sorted(os.listdir(path)):
        st = os.lstat(path / n)
        if stat.S_ISDIR(st.st_mode):
            continue
        out[n] = (st.st_ino, st.st_uid, st.st_gid, st.st_mode, st.st_rdev)
    return out


BOUND_DEV_DEVICES = [
    {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600,
     "uid": 1000, "gid": 1000},
    {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o600,
     "uid": 1000, "gid": 1000},
    {"path": "/dev/extra", "type": "c", "major": 1, "minor": 5},
]


def test_bind_mounted_dev_nodes_untouched(env):
    fake = make_fake_dev(env.dir / "fakedev")
    before = node_facts(fake)
    # the /dev tmpfs replaced by a bind, as a config asking for the host's /dev does
    env.cfg["mounts"] = [dict(m, type="bind", source=str(fake), options=["rbind", "nosuid"])
                         if m["destination"] == "/dev" else m for m in env.cfg["mounts"]]
    env.linux["devices"] = BOUND_DEV_DEVICES
    env.process["args"] = ["sh", "-c", "ls /dev; stat -c '%n %t:%T %u' /dev/null"]
    env.save()
    r = env.berth("--debug", "run", "-b", env.bundle, env.new_id())
    assert r.rc == 0, r
    assert "/dev/null 1:3 0" in r.out, r
    assert "'/dev' is a bind mount" in r.err, r
    # nothing unlinked, re-created, chowned or chmodded, nothing added (default devices,
    # /dev/extra, ptmx or fd links); only the mount points of the spec mounts may appear
    assert node_facts(fake) == before, r


def test_dev_bound_through_symlinked_destination_untouched(env):
    fake = make_fake_dev(env.dir / "fakedev")
    before = node_facts(fake)
    # the config's /dev tmpfs, then a bind that lands on /dev through a symlink of the image:
    # the config's mount list alone does not say that /dev is bound
    os.symlink("/dev", env.rootfs / "hostdev")
    env.add_mount("/hostdev", "bind", str(fake), ["rbind"])
    env.linux["devices"] = BOUND_DEV_DEVICES
    r = env.sh("ls /dev; stat -c '%n %t:%T %u' /dev/null")
    assert r.rc == 0, r
    assert "/dev/null 1:3 0" in r.out, r
    assert node_facts(fake) == before, r


def test_device_replaces_image_file_without_leftovers(env):
    # no /dev tmpfs: the image's own /dev, where a device replaces what is there
    for d in ("/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"):
        env.remove_mount(d)
    env.write_rootfs("/dev/mydev", "image file\n", 0o644)
    env.linux["devices"] = [{"path": "/dev/mydev", "type": "c", "major": 1, "minor": 3,
                             "fileMode": 0o620, "uid": 1000, "gid": 1001},
                            {"path": "/dev/null", "type": "c", "major": 1, "minor": 3}]
    r = env.sh("stat -c '%n %F %t:%T %a %u:%g' /dev/mydev; ls -a /dev")
    assert r.rc == 0, r
    assert "/dev/mydev character special file 1:3 620 1000:1001" in r.out, r
    assert sorted(os.listdir(env.rootfs / "dev")) == ["mydev", "null"], r


def userns(env):
    env.set_ns("user")
    env.linux["uidMappings"] = [{"containerID": 0, "hostID": USERNS_ID, "size": 65536}]
    env.linux["gidMappings"] = [{"containerID": 0, "hostID": USERNS_ID, "size": 65536}]
    env.remove_mount("/sys/fs/cgroup")
    # the image's own /dev, writable by the container's root
    for d in ("/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"):
        env.remove_mount(d)
    os.chown(env.rootfs / "dev", USERNS_ID, USERNS_ID)


def test_device_bind_fallback_keeps_image_file(env):
    # in a user namespace mknod is refused: the host's node is bound instead, over the
    # image's file, which stays as it was underneath
    userns(env)
    f = env.write_rootfs("/dev/null", "image file\n", 0o644)
    os.chown(f, USERNS_ID, USERNS_ID)
    ino = f.stat().st_ino
    env.linux["devices"] = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3}]
    r = env.sh("stat -c '%n %t:%T' /dev/null; echo x > /dev/null && echo write-ok")
    assert r.rc == 0, r
    assert "/dev/null 1:3" in r.out and "write-ok" in r.out, r
    assert f.stat().st_ino == ino and f.read_text() == "image file\n"
    assert sorted(os.listdir(env.rootfs / "dev")) == ["null"], r


def test_device_bind_fallback_over_a_symlink(env):
    # a symlink at the path is exchanged for an empty file to bind on: its target is untouched
    userns(env)
    target = env.write_rootfs("/etc/devnull-target", "target\n", 0o644)
    os.symlink("/etc/devnull-target", env.rootfs / "dev" / "null")
    env.linux["devices"] = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3}]
    r = env.sh("stat -c '%n %F %t:%T' /dev/null; stat -c '%n %F' /etc/devnull-target; "
               "grep -c devnull-target /proc/self/mountinfo; true")
    assert r.rc == 0, r
    assert "/dev/null character special file 1:3" in r.out, r
    assert "/etc/devnull-target regular file\n0\n" in r.out, r
    assert target.read_text() == "target\n"
    assert sorted(os.listdir(env.rootfs / "dev")) == ["null"], r


def test_failed_device_keeps_the_old_file(env):
    # mknod refused (user namespace) and the host's /dev/null is another device than
    # the one asked for: create fails, and what was at the path is still there
    userns(env)
    f = env.write_rootfs("/dev/null", "image file\n", 0o644)
    os.chown(f, USERNS_ID, USERNS_ID)
    ino = f.stat().st_ino
    env.linux["devices"] = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 5}]
    r = env.run(["true"])
    assert r.rc != 0 and "/dev/null" in r.err, r
    assert f.stat().st_ino == ino and f.read_text() == "image file\n", r
    assert sorted(os.listdir(env.rootfs / "dev")) == ["null"], r


def test_create_container_hook_cwd_is_the_root(env):
    """createContainer hooks run with the container's root as their working directory
    (runc), the way an image-relative path in a hook finds the rootfs."""
    hook = env.dir / "hook.sh"
    hook.write_text('#!/bin/sh\npwd -P > "$1"\n')
    hook.chmod(0o755)
    out = env.rootfs / "hook.cwd"
    env.add_hook("createContainer", str(hook), ["hook.sh", str(out)])
    want = os.path.realpath(env.rootfs)
    r = env.run(["true"])
    assert r.rc == 0, r
    assert out.read_text().strip() == want
    out.unlink()
    rr = env.runc_run(["true"])
    if rr is not None:
        assert rr.returncode == 0, rr
        assert out.read_text().strip() == want


def test_bound_device_nodes_are_nosuid_noexec(env):
    """Where mknod is refused (user namespace) the host's nodes bound in /dev are mounted
    nosuid,noexec: nothing the host's mount allowed is carried in."""
    userns(env)
    env.linux["devices"] = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3},
                            {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5}]
    r = env.sh("cat /proc/self/mountinfo")
    mi = mountinfo(r)
    for node in ("/dev/null", "/dev/zero"):
        assert node in mi, (node, r)
        assert {"nosuid", "noexec"} <= mi[node][0], (node, mi[node])


def test_mount_label_ignored_without_selinux(env):
    """linux.mountLabel on a host without SELinux is ignored (crun), with a debug line."""
    if os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("SELinux is enabled on this host")
    env.linux["mountLabel"] = "system_u:object_r:container_file_t:s0:c1,c2"
    env.process["args"] = ["echo", "RAN"]
    env.save()
    cid = env.new_id()
    env.ids.add(cid)
    r = env.berth("--debug", "run", "-b", env.bundle, cid)
    assert r.rc == 0 and r.out == "RAN\n", r
    assert any("mountLabel" in l for l in r.err_lines), r


@pytest.mark.parametrize("own_mappings", [False, True])
def test_idmap_bind_mount(env, own_mappings):
    """An idmap bind mount in a user namespace shows the source's owners through the
    mount's mappings or, without its own, the container's (runtime-spec config.md): a
    host file of 0:0 is 0:0 inside, not the overflow id."""
    userns(env)
    src = env.dir / "idsrc"
    src.mkdir()
    (src / "f").write_text("x")
    (env.rootfs / "mnt" / "ids").mkdir(parents=True)
    env.linux["devices"] = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3}]
    m = {"destination": "/mnt/ids", "type": "bind", "source": str(src),
         "options": ["bind", "idmap"]}
    if own_mappings:
        m["uidMappings"] = [{"containerID": 0, "hostID": USERNS_ID, "size": 65536}]
        m["gidMappings"] = [{"containerID": 0, "hostID": USERNS_ID, "size": 65536}]
    env.cfg["mounts"].append(m)
    r = env.sh("stat -c '%u:%g' /mnt/ids/f")
    assert r.rc == 0, r
    assert r.out == "0:0\n", r


def test_bind_source_opened_from_the_host_side(env):
    """A bind source is opened as the host sees it, not by the container's mapped root:
    a directory under a 0700 host directory (host root may pass, the mapped root may
    not) is still mounted, and what it allows is readable inside."""
    userns(env)
    env.linux["devices"] = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3}]
    priv = env.dir / "priv"
    (priv / "pub").mkdir(parents=True)
    (priv / "pub" / "f").write_text("shared\n")
    priv.chmod(0o700)
    (env.rootfs / "mnt" / "pub").mkdir(parents=True)
    env.add_mount("/mnt/pub", "bind", str(priv / "pub"), ["bind", "ro"])
    r = env.sh("cat /mnt/pub/f")
    assert r.rc == 0, r
    assert r.out == "shared\n", r


def test_idmap_bind_mount_without_user_namespace(env):
    """Without a user namespace the mount's own mappings still apply: a host file of 0:0
    shows as the mapped id."""
    src = env.dir / "idsrc"
    src.mkdir()
    (src / "f").write_text("x")
    env.cfg["mounts"].append({
        "destination": "/mnt/ids", "type": "bind", "source": str(src),
        "options": ["rbind", "ridmap"],
        "uidMappings": [{"containerID": 0, "hostID": USERNS_ID, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": USERNS_ID, "size": 65536}]})
    r = env.sh("stat -c '%u:%g' /mnt/ids/f")
    assert r.rc == 0, r
    assert r.out == f"{USERNS_ID}:{USERNS_ID}\n", r


def test_default_device_rules_without_resources_devices(env):
    """A config without linux.resources.devices still gets the default device
    rules (deny all but the standard devices), as runc gives it: a node the
    container makes with CAP_MKNOD (here /dev/kmsg's, 1:11) cannot be opened."""
    env.linux.setdefault("resources", {}).pop("devices", None)
    caps = env.process.setdefault("capabilities", {})
    for s in ("bounding", "effective", "permitted"):
        if "CAP_MKNOD" not in caps.setdefault(s, []):
            caps[s].append("CAP_MKNOD")
    script = ("rm -f /tmp/km; mknod /tmp/km c 1 11 && ((echo berth-test > /tmp/km) "
              "2>/dev/null && echo OPENED || echo denied); rm -f /tmp/km; "
              "cat /dev/null && echo null-ok")
    ref = env.runc_run(["sh", "-c", script])
    r = env.sh(script)
    assert r.rc == 0, r
    assert "denied" in r.out and "OPENED" not in r.out, r
    assert "null-ok" in r.out, r
    if ref is not None:
        assert "denied" in ref.stdout, ref
