# SPDX-License-Identifier: LGPL-2.1-or-later
"""CVE-2019-5736: a container must not be able to overwrite the runtime binary
through /proc/<pid>/exe. Every test runs a private copy of berth, so a
successful attack cannot break the rest of the suite."""

import hashlib
import pathlib
import shutil
import subprocess
import time

import pytest

from conftest import BERTH, SANITIZED

# startContainer hook, run inside the container while its pid 1 is still the runtime.
# It tries to open /proc/1/exe for writing, then keeps a read-only handle in a
# background process and tries to reopen it for writing once pid 1 has exec'd
# the user's program and berth has exited (the classic attack).
CVE_HOOK = r"""#!/bin/sh
r=/cve.result
if (exec 3<>/proc/1/exe) 2>/dev/null; then echo OPENED-RW >> $r; else echo denied-rw >> $r; fi
(
	# `command`: a failed redirection of exec must not end the subshell unheard
	if ! command exec 4</proc/1/exe 2>/dev/null; then echo denied-ro >> $r; exit 0; fi
	echo held-ro >> $r
	i=0
	while [ $i -lt 60 ]; do
		if (printf PWNED 1<>/proc/self/fd/4) 2>/dev/null; then echo WROTE >> $r; exit 0; fi
		i=$((i+1))
		sleep 0.05
	done
	echo write-denied >> $r
) </dev/null >/dev/null 2>&1 &
exit 0
"""


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def private_berth(env):
    copy = env.dir / "berth-copy"
    shutil.copy2(BERTH, copy)
    return copy


def test_cve_2019_5736_proc_1_exe_during_start(env):
    berth = private_berth(env)
    before = sha256(berth)
    env.write_rootfs("/cve.sh", CVE_HOOK)
    env.add_hook("startContainer", "/cve.sh")
    env.process["args"] = ["sleep", "4"]
    env.save()
    cid = env.new_id()
    r = env.berth("create", "-b", env.bundle, cid, binary=berth)
    assert r.rc == 0, r
    r = env.berth("start", cid, binary=berth)
    assert r.rc == 0, r
    # berth has exited: nothing holds the binary busy any more; give the attacker time
    deadline = time.monotonic() + 10
    result = env.rootfs / "cve.result"
    while time.monotonic() < deadline:
        text = result.read_text() if result.exists() else ""
        if "denied-ro" in text or "write-denied" in text or "WROTE" in text:
            break
        time.sleep(0.1)
    text = result.read_text()
    assert "OPENED-RW" not in text, text
    assert "WROTE" not in text, text
    assert sha256(berth) == before, "the berth binary was modified from inside the container"
    env.berth("delete", "--force", cid, binary=berth)


def test_cve_2019_5736_runtime_exe_not_reachable_during_run(env):
    """Without a pid namespace the container sees `berth run` itself: it must not get a
    handle on the binary through /proc/<pid>/exe."""
    berth = private_berth(env)
    before = sha256(berth)
    env.remove_ns("pid")
    env.process["args"] = ["sh", "-c", r"""
		for d in /proc/[0-9]*; do
			(exec 5<$d/exe && readlink /proc/self/fd/5) 2>/dev/null
			(exec 6<>$d/exe && echo "OPENED-RW $d") 2>/dev/null
		done
		echo done
	"""]
    env.save()
    r = env.berth("run", "-b", env.bundle, env.new_id(), binary=berth)
    assert r.rc == 0, r
    assert r.out.strip().endswith("done"), r
    assert "berth-copy" not in r.out, r
    assert "OPENED-RW" not in r.out, r
    assert sha256(berth) == before


def test_container_cannot_see_host_root_through_proc(env):
    """/proc/1/root and /proc/1/cwd inside the pid namespace lead to the container's root."""
    r = env.sh("ls /proc/1/root/ | sort | tr '\\n' ' '; ls /proc/1/root/work 2>/dev/null && "
               "echo HOST-VISIBLE")
    assert "HOST-VISIBLE" not in r.out, r
    assert "bin" in r.out.split(), r


@pytest.mark.skipif(SANITIZED, reason="sanitizer build: berth is linked dynamically (ASan "
                    "does not link statically), so /proc/self/exe cannot run as a program "
                    "inside the busybox rootfs, which this test needs")
def test_cve_2019_5736_shebang_chain_to_proc_self_exe(env):
    """An image alone, with the config `berth spec` writes (new pid namespace, no
    hooks): its entrypoint is a script whose interpreter is /proc/self/exe. The
    kernel resolves that through the init's own exe while the init executes the
    entrypoint, so pid 1 must not be the host binary then, or any process of the
    container reaches the host's berth through /proc/1/exe."""
    import os
    import subprocess

    from conftest import _env

    berth = str(private_berth(env))
    before = sha256(berth)
    host = os.stat(berth)
    # A chain of two: the options swallow the scripts' paths that the kernel
    # inserts, so pid 1 becomes `berth --root /evil --log /evil2 update -r - x`,
    # which blocks reading its stdin (our pipe)
    env.write_rootfs("/evil", "#!/proc/self/exe --root\n")
    env.write_rootfs("/evil2", "#!/evil --log\n")
    env.process["args"] = ["/evil2", "update", "-r", "-", "x"]
    env.save()
    cid = env.new_id()
    rfd, wfd = os.pipe()
    try:
        # stdout and stderr to a file: the init inherits them
        with open(env.dir / "create.out", "w") as out:
            cp = subprocess.run([str(berth), "--root", str(env.root), "create", "-b",
                                 str(env.bundle), cid], stdin=rfd, stdout=out, stderr=out,
                                timeout=20, env=_env(env.mark))
        os.close(rfd)
        rfd = -1
        assert cp.returncode == 0, (env.dir / "create.out").read_text()
        r = env.berth("start", cid, binary=berth)
        assert r.rc == 0, r
        probe = r"""
			sleep 0.3
			readlink /proc/1/exe
			echo "id $(stat -L -c %d:%i /proc/1/exe)"
			if (exec 3<>/proc/1/exe) 2>/dev/null; then echo OPENED-RW; fi
			if (printf PWNED 1<>/proc/1/exe) 2>/dev/null; then echo WROTE; fi
			echo probed
		"""
        r = env.berth("exec", cid, "sh", "-c", probe, binary=berth)
        if "is not running" in r.err:
            # pid 1 could not run what /proc/self/exe led to (berth's sparse sealed
            # copy): the host's binary never ran in the container
            log = (env.dir / "create.out").read_text()
            assert "berth" not in log, log
        else:
            assert "probed" in r.out, r
            assert f"id {host.st_dev}:{host.st_ino}" not in r.out, r
            assert "berth-copy" not in r.out, r
            assert "OPENED-RW" not in r.out and "WROTE" not in r.out, r
    finally:
        if rfd >= 0:
            os.close(rfd)
        os.close(wfd)
        env.berth("delete", "--force", cid, binary=berth)
    assert sha256(berth) == before, "the berth binary was modified from inside the container"


def _nested_proc_mount(env, extra=()):
    """From inside the container: a new user, mount and pid namespace mounts a fresh procfs.
    The kernel allows it only while a fully visible procfs is in the mount namespace."""
    env.linux.pop("seccomp", None)
    # setfcap: the kernel lets a nested user namespace map root to root only with it
    for k in ("bounding", "effective", "permitted"):
        env.process["capabilities"][k] += ["CAP_SETFCAP"]
    script = ("unshare -U -r -m -p -f sh -c 'mount -t proc proc /mnt && echo MOUNTED'"
              " 2>&1; true")
    return env.run(["sh", "-c", script], extra=extra)


def test_nested_userns_cannot_mount_proc(env):
    r = _nested_proc_mount(env)
    assert r.rc == 0, r
    assert "MOUNTED" not in r.out, r


def test_no_pivot_leaves_no_full_procfs(env):
    """With --no-pivot the host's /proc stays in the container's mount namespace (outside
    its chroot): it must not let a nested user namespace mount an unmasked procfs."""
    r = _nested_proc_mount(env, extra=["--no-pivot"])
    assert r.rc == 0, r
    assert "MOUNTED" not in r.out, r
    # the container's own /proc and /sys still work
    r = env.run(["sh", "-c", "test -r /proc/self/status && ls /sys/kernel >/dev/null && echo ok"],
                extra=["--no-pivot"])
    assert r.out == "ok\n", r


def _fs_of_kind(kind, base):
    """Mount a filesystem of KIND at base/mnt; return (where to put files, cleanup argv)."""
    mnt = base / "mnt"
    mnt.mkdir(parents=True)
    if kind == "overlayfs":
        for d in ("lower", "upper", "work"):
            (base / d).mkdir()
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={base}/lower,upperdir={base}/upper,workdir={base}/work",
                        str(mnt)], check=True)
        return base / "lower", mnt
    if shutil.which("mkfs.btrfs") is None or "btrfs" not in open("/proc/filesystems").read():
        pytest.fail("btrfs is needed (tests/run installs btrfs-progs)")
    img = base / "btrfs.img"
    with open(img, "wb") as f:
        f.truncate(256 << 20)
    subprocess.run(["mkfs.btrfs", "-q", str(img)], check=True, capture_output=True)
    subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], check=True)
    # a subvolume: stat() gives its own anonymous st_dev, /proc/self/maps the filesystem's
    subprocess.run(["btrfs", "subvolume", "create", str(mnt / "sv")], check=True,
                   capture_output=True)
    return mnt / "sv", mnt / "sv"


@pytest.fixture(params=["overlayfs", "btrfs-subvolume"])
def berth_elsewhere(env, request):
    """A copy of berth (and berth-shim) on a filesystem whose maps and stat disagree."""
    base = env.dir / "fs"
    src, run_dir = _fs_of_kind(request.param, base)
    for prog in ("berth", "berth-shim"):
        shutil.copy2(pathlib.Path(BERTH).parent / prog, src / prog)
    yield str(run_dir / "berth")
    subprocess.run(["umount", "-l", str(base / "mnt")], check=True)


def test_cve_2019_5736_berth_where_maps_and_stat_disagree(env, berth_elsewhere):
    # /proc/self/maps may name another dev:ino than fstat(/proc/self/exe) gives
    # (a btrfs subvolume; overlayfs before Linux 6.x): berth must still find and
    # replace its own image, in create (the init's copy) and in exec (berth
    # detaching itself).
    env.process["args"] = ["sleep", "30"]
    env.save()
    cid = env.new_id()
    r = env.berth("run", "-d", "-b", env.bundle, cid, binary=berth_elsewhere)
    assert r.rc == 0, r
    r = env.berth("exec", cid, "true", binary=berth_elsewhere)
    assert r.rc == 0, r
    env.berth("delete", "-f", cid, binary=berth_elsewhere, check=True)
