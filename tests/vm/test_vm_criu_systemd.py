# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth checkpoint / restore under the systemd cgroup driver (--systemd-cgroup).

Runs in the VM booted with systemd as PID 1 (tests/vm/run-in-vm.sh --init systemd,
the systemd pass of tests/vm/run-tests.sh); skips elsewhere or when `criu check`
fails. A counter with memory and pids limits in a scope of its own is checkpointed,
deleted and restored: the restored process is in a new running scope of the same
name, whose properties (MemoryMax, TasksMax) and cgroup files (read from inside the
container) equal those before the checkpoint and runc's beside it; the counter goes
on where it was; delete stops the scope. A restore whose CRIU fails leaves no scope.
podman with --cgroup-manager systemd (its default on a systemd host) checkpoints and
restores a counter with berth as with runc: the libpod scope is back with its limit.
"""

import os
import pathlib
import shutil
import subprocess
import time

import pytest

from test_vm_criu import BERTH, CRIU, RUNC, Box, criu_check_passes, drain, read_numbers, rootfs

assert rootfs  # the fixture, used by name below

MEM = 48 * 1024 * 1024
PIDS = 32


def _usable():
    try:
        systemd = pathlib.Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        systemd = False
    if not systemd or os.environ.get("BERTH_IN_VM") != "1" or not CRIU:
        return False
    return criu_check_passes()


pytestmark = pytest.mark.skipif(not _usable(),
                                reason="needs the test VM with systemd as PID 1 and criu")


def show(unit, *props):
    out = subprocess.run(["systemctl", "show", unit, "-p", ",".join(props)],
                         capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


class SdBox(Box):
    """A Box whose runtime runs with --systemd-cgroup and a cgroupsPath per ID."""

    def cmd(self, *args, **kw):
        return super().cmd("--systemd-cgroup", *args, **kw)

    def use(self, cid):
        self.cfg["linux"]["cgroupsPath"] = f"system.slice:criutest:{cid}"
        self.save()


def scopes():
    out = subprocess.run(["systemctl", "list-units", "--all", "--plain", "--no-legend",
                          "criutest-*"], capture_output=True, text=True).stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.strip())


def make_box(rootfs, runtime):
    b = SdBox(rootfs, runtime)
    b.cfg["linux"]["resources"] = {"memory": {"limit": MEM}, "pids": {"limit": PIDS}}
    return b


@pytest.fixture(params=["berth", "runc"])
def sdbox(request, rootfs):
    if request.param == "runc" and not RUNC:
        pytest.skip("runc is not installed")
    before = scopes()
    b = make_box(rootfs, BERTH if request.param == "berth" else RUNC)
    yield b
    b.cleanup()
    deadline = time.monotonic() + 10
    while scopes() != before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert scopes() == before, "scopes left behind"


def seen_inside(b, cid):
    """The cgroup and its limits as the container's process reads them."""
    rc, out, err = b.cmd("exec", cid, "sh", "-c",
                         "cat /proc/self/cgroup /sys/fs/cgroup/memory.max "
                         "/sys/fs/cgroup/pids.max")
    assert rc == 0, err
    return out.split()


def test_restore_into_a_scope(sdbox):
    b = sdbox
    cid = b.new_id()
    b.use(cid)
    cid, r = b.start(cid)
    unit = f"criutest-{cid}.scope"
    before = read_numbers(r, want=3)
    props = show(unit, "ActiveState", "MemoryMax", "TasksMax", "ControlGroup")
    assert props["ActiveState"] == "active", props
    assert props["MemoryMax"] == str(MEM) and props["TasksMax"] == str(PIDS), props
    inside = seen_inside(b, cid)
    assert inside[1:] == [str(MEM), str(PIDS)], inside
    b.cmd("checkpoint", "--image-path", b.img, cid, check=True)
    before += drain(r)
    if b.runtime == BERTH:
        b.cmd("delete", cid, check=True)
    r2, _, _ = b.restore(cid)
    after = read_numbers(r2, want=3)
    assert after and after[0] == before[-1] + 1, (before[-3:], after[:3])
    props2 = show(unit, "ActiveState", "MemoryMax", "TasksMax", "ControlGroup")
    assert props2 == props, (props, props2)
    pid = b.state(cid)["pid"]
    assert open(f"/proc/{pid}/cgroup").read().strip() == "0::" + props["ControlGroup"]
    assert seen_inside(b, cid) == inside
    b.cmd("delete", "--force", cid, check=True)
    deadline = time.monotonic() + 10
    while show(unit, "ActiveState")["ActiveState"] == "active" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert show(unit, "ActiveState")["ActiveState"] != "active"


def test_failed_restore_leaves_no_scope(rootfs):
    before = scopes()
    b = make_box(rootfs, BERTH)
    try:
        cid = b.new_id()
        b.use(cid)
        cid, r = b.start(cid)
        read_numbers(r, want=2)
        b.cmd("checkpoint", "--image-path", b.img, cid, check=True)
        b.cmd("delete", cid, check=True)
        for p in b.img.glob("pages-*.img"):
            p.unlink()
        _, rc, err = b.restore(cid, check=False)
        lines = err.strip().splitlines()
        assert rc == 1 and len(lines) == 1 and f'restore "{cid}"' in lines[0], err
        assert not (b.root / cid).exists()
        deadline = time.monotonic() + 10
        while scopes() != before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert scopes() == before, "the restore left its scope"
    finally:
        b.cleanup()


# podman as Debian ships it on a systemd host: --cgroup-manager systemd, so the runtime
# gets --systemd-cgroup for create, checkpoint and restore; runc first, then berth.
from test_vm_criu_podman import (IMG, RUNTIMES, Podman, assert_unbroken,  # noqa: E402
                                 counts, leftovers, state, wait_count, work)

assert work  # a fixture, used by name below


class SdPodman(Podman):
    def __init__(self, work):
        super().__init__(work)
        self.base[self.base.index("cgroupfs")] = "systemd"


@pytest.fixture(scope="module")
def sdpodman(work):
    if not shutil.which("podman") or not shutil.which("conmon"):
        pytest.skip("podman or conmon is not installed")
    p = SdPodman(work)
    subprocess.run([str(a) for a in p.base] + ["import", "-q", str(work / "busybox.tar"), IMG],
                   env=p.env, check=True, capture_output=True, timeout=300)
    yield p
    subprocess.run([str(a) for a in p.base] + ["rm", "-af", "-t", "0"], env=p.env,
                   capture_output=True, timeout=300)
    subprocess.run([str(a) for a in p.base] + ["system", "reset", "-f"], env=p.env,
                   capture_output=True, timeout=300)
    for line in reversed(pathlib.Path("/proc/self/mountinfo").read_text().splitlines()):
        if line.split()[4].startswith(str(work)):
            subprocess.run(["umount", "-l", line.split()[4]], capture_output=True)


runc_result = {}


@pytest.mark.parametrize("runtime", ["runc", "berth"])
def test_podman_systemd_checkpoint_restore(sdpodman, runtime):
    if runtime == "berth" and runc_result.get("runc") is False:
        pytest.skip("runc failed the same case")
    runc_result[runtime] = False
    p = sdpodman
    name = "criutest-" + runtime
    cid = p(runtime, "run", "-d", "--name", name, "--network", "none", "--memory", "64m",
            IMG, "sh", "-c", "i=0; while :; do echo $i; i=$((i+1)); sleep 0.2; done"
            ).stdout.strip()
    try:
        wait_count(p, runtime, cid, 3)
        scope = f"libpod-{cid}.scope"
        assert show(scope, "ActiveState")["ActiveState"] == "active"
        p(runtime, "container", "checkpoint", cid)
        before = counts(p, runtime, cid)
        assert leftovers(runtime, cid) == [], "the checkpointed container is still there"
        p(runtime, "container", "restore", cid)
        assert state(p, runtime, cid)["Status"] == "running"
        props = show(scope, "ActiveState", "MemoryMax")
        assert props == {"ActiveState": "active", "MemoryMax": str(64 << 20)}, props
        assert_unbroken(wait_count(p, runtime, cid, len(before) + 3))
        runc_result[runtime] = True
    finally:
        p(runtime, "rm", "-f", "-t", "0", cid, check=False)
        deadline = time.monotonic() + 10
        while leftovers(runtime, cid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert leftovers(runtime, cid) == [], f"{cid} left behind"
