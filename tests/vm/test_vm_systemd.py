# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth under a real systemd: the VM booted with systemd as PID 1.

Runs inside the VM of `tests/vm/run-in-vm.sh --init systemd` (tests/vm/run-tests.sh
starts it there); skips anywhere else. The VM's root is an overlay of the host's,
so installing berth at /usr/local/sbin and a unit under /etc/systemd/system
changes nothing outside the VM.

- the VM itself: systemd is PID 1, owns a cgroup2 tree, the system bus answers;
- contrib/systemd/berth@.service as it ships: `systemctl start` waits for the
  container's READY=1, MainPID is the container's process, journald has the
  container's output, `systemctl stop` leaves no container, cgroup or state,
  and Restart=on-failure starts a failed container again; berth@.socket hands
  the container its listening socket as fd 3;
- the systemd cgroup driver (--systemd-cgroup): the scope, its properties and
  cgroup files, ps/pause/update/kill --all, delete leaving no unit, a custom
  slice, an org.systemd.property.* annotation, a bad one, the device rules as
  DevicePolicy/DeviceAllow, limits a daemon-reload must not undo (read inside
  the container), and runc --systemd-cgroup beside it.
"""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BERTH = os.path.abspath(os.environ.get("BERTH") or str(REPO / "build" / "berth"))
NOTIFY = pathlib.Path(BERTH).parent / "berth-test-notify"
UNIT = REPO / "contrib" / "systemd" / "berth@.service"
SOCKET_UNIT = REPO / "contrib" / "systemd" / "berth@.socket"
BUNDLES = pathlib.Path("/var/lib/berth/bundles")
INSTALLED = pathlib.Path("/usr/local/sbin/berth")


def pid1_is_systemd():
    try:
        return pathlib.Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not pid1_is_systemd() or os.environ.get("BERTH_IN_VM") != "1",
                                reason="needs the test VM booted with systemd as PID 1")


def run(*argv, check=True, timeout=120):
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{argv}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def show(unit, *props):
    out = run("systemctl", "show", unit, "-p", ",".join(props)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def start(unit):
    """systemctl start UNIT; on failure the unit's journal is in the message."""
    r = run("systemctl", "start", unit, check=False)
    if r.returncode != 0:
        log = run("journalctl", "-u", unit, "--no-pager", "-o", "cat", check=False).stdout
        raise AssertionError(f"systemctl start {unit}: exit {r.returncode}\n{log}")


def wait_for(pred, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_vm_runs_systemd_with_a_bus():
    assert pid1_is_systemd()
    out = run("stat", "-f", "-c", "%T", "/sys/fs/cgroup").stdout.strip()
    assert out == "cgroup2fs"
    # the manager answers on the system bus (what --systemd-cgroup will talk to)
    r = run("busctl", "--system", "get-property", "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "Version")
    assert r.stdout.startswith('s "')
    # this test runs in the VM's own service, under systemd's tree
    assert "/system.slice/" in pathlib.Path("/proc/self/cgroup").read_text()


@pytest.fixture(scope="module")
def installed():
    """berth where the unit expects it, and the unit as it ships."""
    if not os.access(BERTH, os.X_OK):
        pytest.fail(f"berth binary not found at {BERTH} (set BERTH=...)")
    if not NOTIFY.exists():
        pytest.fail(f"{NOTIFY} not built")
    INSTALLED.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(BERTH, INSTALLED)
    dst = pathlib.Path("/etc/systemd/system/berth@.service")
    shutil.copy2(UNIT, dst)
    sock = pathlib.Path("/etc/systemd/system/berth@.socket")
    shutil.copy2(SOCKET_UNIT, sock)
    run("systemctl", "daemon-reload")
    yield
    dst.unlink()
    sock.unlink()
    run("systemctl", "daemon-reload")
    INSTALLED.unlink()


def make_bundle(name, script):
    """A busybox bundle at /var/lib/berth/bundles/NAME running `sh -c script`."""
    b = BUNDLES / name
    r = b / "rootfs"
    for sub in ("bin", "proc", "sys", "dev", "tmp", "etc", "run"):
        (r / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2("/bin/busybox", r / "bin" / "busybox")
    for applet in ("sh", "echo", "sleep", "cat", "ls"):
        os.symlink("busybox", r / "bin" / applet)
    shutil.copy2(NOTIFY, r / "bin" / "notify")
    (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    run(BERTH, "spec", "--bundle", b)
    cfg = json.loads((b / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/sh", "-c", script]
    cfg["root"] = {"path": "rootfs", "readonly": False}
    (b / "config.json").write_text(json.dumps(cfg))
    return b


@pytest.fixture
def instance(installed):
    names = []

    def make(script):
        name = f"vmsd{os.getpid()}x{len(names)}"
        names.append(name)
        make_bundle(name, script)
        return name

    yield make
    for name in names:
        run("systemctl", "stop", f"berth@{name}.socket", check=False)
        run("systemctl", "stop", f"berth@{name}.service", check=False)
        run("systemctl", "reset-failed", f"berth@{name}.service", check=False)
        run(BERTH, "delete", "--force", name, check=False)
        shutil.rmtree(BUNDLES / name, ignore_errors=True)


def leftovers(name):
    left = []
    if run(BERTH, "state", name, check=False).returncode == 0:
        left.append("state")
    left += [str(p) for p in pathlib.Path("/sys/fs/cgroup").rglob(name)]
    return left


def test_unit_type_notify_mainpid_journal_and_stop(instance):
    name = instance("echo hello-from-the-container; sleep 1; notify READY=1 STATUS=serving; "
                    "exec sleep 1000")
    unit = f"berth@{name}.service"
    # Type=notify: start returns only once the container said READY=1
    start(unit)
    p = show(unit, "ActiveState", "SubState", "MainPID", "StatusText")
    assert p["ActiveState"] == "active" and p["SubState"] == "running", p
    st = json.loads(run(BERTH, "state", name).stdout)
    assert st["status"] == "running"
    # MAINPID= from berth names the container's process, not berth run
    assert int(p["MainPID"]) == st["pid"], (p, st)
    assert p["StatusText"] == "serving"
    # the container's stdout reaches the journal through berth run
    # (journald files it under no unit: the container's processes are in their
    # own cgroup, outside the service's, until --systemd-cgroup puts them in a scope)
    wait_for(lambda: "hello-from-the-container" in run(
        "journalctl", "--no-pager", "-o", "cat", "_TRANSPORT=stdout").stdout,
        what="the container's line in the journal")

    run("systemctl", "stop", unit)
    assert show(unit, "ActiveState")["ActiveState"] in ("inactive", "failed")
    assert leftovers(name) == []


def test_unit_restart_on_failure(instance):
    # ready, then fails: Restart=on-failure starts it again (a new container)
    name = instance("notify READY=1; sleep 2; exit 3")
    unit = f"berth@{name}.service"
    start(unit)
    wait_for(lambda: int(show(unit, "NRestarts")["NRestarts"]) >= 1, what="a restart")
    run("systemctl", "stop", unit)
    assert leftovers(name) == []


# ---- the systemd cgroup driver (--systemd-cgroup) ----

RESOURCES = {
    "memory": {"limit": 64 << 20},
    "pids": {"limit": 50},
    "cpu": {"shares": 512, "quota": 50000, "period": 100000},
}


def run_files(argv, check=True, **kw):
    """run() with stdout and stderr in files, never pipes (a container's init may
    inherit them); kw goes to subprocess.run (env, cwd)."""
    argv = [str(a) for a in argv]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                           text=True, timeout=120, **kw)
        out.seek(0)
        err.seek(0)
        res = subprocess.CompletedProcess(argv, r.returncode, out.read(), err.read())
    if check and res.returncode != 0:
        raise AssertionError(f"{argv}: exit {res.returncode}\n{res.stdout}\n{res.stderr}")
    return res


def berth_sd(*args, check=True, engine=None):
    """berth (or runc) --systemd-cgroup ARGS, the init's stdio in files (never pipes)."""
    return run_files([engine or BERTH, "--systemd-cgroup"] + [str(a) for a in args], check)


def unit_listed(unit):
    out = run("systemctl", "list-units", "--all", "--no-legend", "--plain").stdout
    return [line for line in out.splitlines() if unit in line]


@pytest.fixture
def sd_bundle():
    made = []

    def make(name, script="sleep 1000", resources=None, cgroups_path=None, annotations=None):
        b = make_bundle(name, script)
        cfg = json.loads((b / "config.json").read_text())
        if resources is not None:
            cfg["linux"]["resources"] = resources
        if cgroups_path is not None:
            cfg["linux"]["cgroupsPath"] = cgroups_path
        if annotations:
            cfg["annotations"] = annotations
        (b / "config.json").write_text(json.dumps(cfg))
        made.append(name)
        return b

    yield make
    for name in made:
        for engine in (BERTH, "runc"):
            subprocess.run([engine, "delete", "--force", name], capture_output=True)
        shutil.rmtree(BUNDLES / name, ignore_errors=True)


def test_systemd_cgroup_scope(sd_bundle):
    name = f"sdcg{os.getpid()}"
    unit = f"berth-{name}.scope"
    res = json.loads(json.dumps(RESOURCES))
    res["cpu"].update(cpus="1", mems="0")
    b = sd_bundle(name, resources=res)
    berth_sd("create", "--bundle", b, name)
    st = json.loads(run(BERTH, "state", name).stdout)
    cg = pathlib.Path(f"/sys/fs/cgroup/system.slice/{unit}")
    # the init is in the scope before it runs anything of the container's
    assert str(st["pid"]) in (cg / "cgroup.procs").read_text().split()
    assert f"0::/system.slice/{unit}" in pathlib.Path(f"/proc/{st['pid']}/cgroup").read_text()
    p = show(unit, "ActiveState", "Slice", "Delegate", "MemoryMax", "TasksMax", "CPUWeight",
             "CPUQuotaPerSecUSec", "Description")
    assert p["ActiveState"] == "active" and p["Slice"] == "system.slice", p
    assert p["Delegate"] == "yes" and p["Description"] == f"berth container {name}", p
    # systemd's view and the kernel's agree
    assert p["MemoryMax"] == str(64 << 20) and p["TasksMax"] == "50", p
    assert p["CPUWeight"] == "20" and p["CPUQuotaPerSecUSec"] == "500ms", p
    p = show(unit, "AllowedCPUs", "AllowedMemoryNodes")
    assert p == {"AllowedCPUs": "1", "AllowedMemoryNodes": "0"}, p
    assert (cg / "cpuset.cpus").read_text().strip() == "1"
    assert (cg / "memory.max").read_text().strip() == str(64 << 20)
    assert (cg / "pids.max").read_text().strip() == "50"
    assert (cg / "cpu.max").read_text().split() == ["50000", "100000"]
    assert (cg / "cpu.weight").read_text().strip() == "20"

    berth_sd("start", name)
    assert str(st["pid"]) in run(BERTH, "ps", name).stdout
    stats = json.loads(run(BERTH, "events", "--stats", name).stdout)["data"]
    assert stats["pids"]["current"] >= 1 and stats["pids"]["limit"] == 50, stats
    run(BERTH, "pause", name)
    assert (cg / "cgroup.freeze").read_text().strip() == "1"
    run(BERTH, "resume", name)
    run(BERTH, "update", "--memory", str(96 << 20), "--pids-limit", "60", name)
    assert (cg / "memory.max").read_text().strip() == str(96 << 20)
    # systemd got the new limits too: a daemon-reload (which writes every
    # property back to the cgroup) undoes none of them
    p = show(unit, "MemoryMax", "TasksMax")
    assert p == {"MemoryMax": str(96 << 20), "TasksMax": "60"}, p
    run("systemctl", "daemon-reload")
    assert (cg / "memory.max").read_text().strip() == str(96 << 20)
    assert (cg / "pids.max").read_text().strip() == "60"
    assert (cg / "cpu.max").read_text().split() == ["50000", "100000"]

    # delete needs no flag: the state names the unit
    run(BERTH, "delete", "--force", name)
    assert unit_listed(unit) == []
    assert not cg.exists()
    assert not pathlib.Path(f"/proc/{st['pid']}").exists()
    assert run(BERTH, "state", name, check=False).returncode != 0


def test_systemd_cgroup_oom_kill_and_tasks_max(sd_bundle):
    name = f"sdoom{os.getpid()}"
    unit = f"berth-{name}.scope"
    b = sd_bundle(name, script="tail /dev/zero", resources={"memory": {"limit": 32 << 20}})
    os.symlink("busybox", b / "rootfs" / "bin" / "tail")
    r = berth_sd("run", "--bundle", b, name, check=False)
    assert r.returncode == 137, r  # SIGKILL by the OOM killer, under MemoryMax
    # the kernel names the memory cgroup that was out of memory: the scope's
    assert f"oom_memcg=/system.slice/{unit}" in run("dmesg").stdout
    run(BERTH, "delete", "--force", name)
    assert unit_listed(unit) == []

    name = f"sdpid{os.getpid()}"
    unit = f"berth-{name}.scope"
    # the forks run into the limit in a child shell: the container's own shell lives on
    b = sd_bundle(name, script="sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 100 & "
                  "done'; exec sleep 1000", resources={"pids": {"limit": 6}})
    berth_sd("run", "-d", "--bundle", b, name)
    cg = pathlib.Path(f"/sys/fs/cgroup/system.slice/{unit}")
    assert show(unit, "TasksMax") == {"TasksMax": "6"}
    wait_for(lambda: int((cg / "pids.events").read_text().split()[1]) > 0, timeout=20,
             what="the pids limit to refuse a fork")
    assert int((cg / "pids.current").read_text()) <= 6
    run(BERTH, "delete", "--force", name)
    assert unit_listed(unit) == [] and not cg.exists()


def test_systemd_cgroup_exited_container_leaves_no_unit(sd_bundle):
    name = f"sdex{os.getpid()}"
    unit = f"berth-{name}.scope"
    b = sd_bundle(name, script="exit 0")
    berth_sd("run", "--bundle", b, name)
    # the scope stopped by itself when it became empty; delete is still clean
    run(BERTH, "delete", "--force", name, check=False)
    assert unit_listed(unit) == []
    assert not pathlib.Path(f"/sys/fs/cgroup/system.slice/{unit}").exists()


def test_systemd_cgroup_custom_slice_and_property(sd_bundle):
    name = f"sdsl{os.getpid()}"
    unit = f"pfx-{name}.scope"
    b = sd_bundle(name, cgroups_path=f"berthtest-sub.slice:pfx:{name}",
                  annotations={"org.systemd.property.TasksMax": "77",
                               "org.systemd.property.CPUAccounting": "true"})
    try:
        berth_sd("create", "--bundle", b, name)
        cg = pathlib.Path(f"/sys/fs/cgroup/berthtest.slice/berthtest-sub.slice/{unit}")
        st = json.loads(run(BERTH, "state", name).stdout)
        assert str(st["pid"]) in (cg / "cgroup.procs").read_text().split()
        p = show(unit, "Slice", "TasksMax", "CPUAccounting")
        assert p == {"Slice": "berthtest-sub.slice", "TasksMax": "77", "CPUAccounting": "yes"}, p
        assert (cg / "pids.max").read_text().strip() == "77"
        run(BERTH, "delete", "--force", name)
        assert unit_listed(unit) == [] and not cg.exists()
    finally:
        run("systemctl", "stop", "berthtest-sub.slice", "berthtest.slice", check=False)


def test_systemd_cgroup_bad_property_is_a_clear_error(sd_bundle):
    name = f"sdbad{os.getpid()}"
    b = sd_bundle(name, annotations={"org.systemd.property.TasksMax": "lots"})
    r = berth_sd("create", "--bundle", b, name, check=False)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "org.systemd.property.TasksMax" in lines[0], r.stderr
    assert unit_listed(f"berth-{name}.scope") == []
    assert run(BERTH, "state", name, check=False).returncode != 0


@pytest.mark.skipif(not shutil.which("runc"), reason="runc not installed")
def test_systemd_cgroup_runc_side_by_side(sd_bundle):
    """The same scope made by runc --systemd-cgroup, as the reference."""
    for engine in ("runc", BERTH):
        name = f"sdref{os.getpid()}{'r' if engine == 'runc' else 'b'}"
        b = sd_bundle(name, resources=RESOURCES, cgroups_path=f"system.slice:ref:{name}")
        berth_sd("create", "--bundle", b, name, engine=engine)
        unit = f"ref-{name}.scope"
        p = show(unit, "ActiveState", "MemoryMax", "TasksMax", "CPUWeight")
        assert p == {"ActiveState": "active", "MemoryMax": str(64 << 20), "TasksMax": "50",
                     "CPUWeight": "20"}, (engine, p)
        cg = pathlib.Path(f"/sys/fs/cgroup/system.slice/{unit}")
        assert (cg / "memory.max").read_text().strip() == str(64 << 20)
        subprocess.run([engine, "delete", "--force", name], check=True, capture_output=True)
        wait_for(lambda: unit_listed(unit) == [], timeout=10, what=f"{engine}: {unit} gone")
        assert not cg.exists()


def show_lines(unit, *props):
    """systemctl show as lines: a list property (DeviceAllow) comes one line an entry."""
    return run("systemctl", "show", unit, "-p", ",".join(props)).stdout.splitlines()


def engines():
    return [BERTH] + (["runc"] if shutil.which("runc") else [])


def engine_tag(engine):
    return "r" if engine == "runc" else "b"


DEVICE_PROBE = ("echo berth-device-probe > /dev/kmsg && echo kmsg=ok || echo kmsg=denied; "
                "(echo x > /dev/xcon) 2>/dev/null && echo xcon=open || echo xcon=denied; "
                "cat /dev/null && echo null=ok")


def test_systemd_cgroup_device_policy(sd_bundle):
    """linux.resources.devices as DevicePolicy=strict + DeviceAllow: systemd's view is the
    kernel's, and a daemon-reload (systemd writing its device program again) changes
    nothing: the allowed device works, the denied one stays denied."""
    # the console opens outside any container: a denial in one is the device rules'
    with open("/dev/console", "w"):
        pass
    for engine in engines():
        name = f"sddev{os.getpid()}{engine_tag(engine)}"
        unit = f"ref-{name}.scope"
        b = sd_bundle(name, cgroups_path=f"system.slice:ref:{name}", resources={"devices": [
            {"allow": False, "access": "rwm"},
            {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "w"}]})
        cfg = json.loads((b / "config.json").read_text())
        cfg["linux"]["devices"] = [
            {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o666},
            {"path": "/dev/xcon", "type": "c", "major": 5, "minor": 1, "fileMode": 0o666}]
        (b / "config.json").write_text(json.dumps(cfg))
        berth_sd("run", "-d", "--bundle", b, name, engine=engine)
        lines = show_lines(unit, "DevicePolicy", "DeviceAllow")
        assert "DevicePolicy=strict" in lines, (engine, lines)
        allow = {line.split("=", 1)[1] for line in lines if line.startswith("DeviceAllow=")}
        # the spec's rule and the defaults every container gets
        for want in ("/dev/char/1:11 w", "/dev/char/1:3 rwm", "/dev/char/5:2 rwm",
                     "char-pts rwm"):
            assert want in allow, (engine, want, allow)
        assert not any("5:1" in a for a in allow), (engine, allow)
        for when in ("before", "after"):
            out = run_files([engine, "exec", name, "sh", "-c", DEVICE_PROBE]).stdout.split()
            assert out == ["kmsg=ok", "xcon=denied", "null=ok"], (engine, when, out)
            if when == "before":
                run("systemctl", "daemon-reload")
        subprocess.run([engine, "delete", "--force", name], check=True, capture_output=True)
        wait_for(lambda: unit_listed(unit) == [], timeout=10, what=f"{engine}: {unit} gone")


def block_device():
    """A block device's "MAJ:MIN" for io.max (a loop device), or None."""
    run("modprobe", "loop", check=False)
    for d in sorted(pathlib.Path("/sys/block").glob("loop*")):
        return (d / "dev").read_text().strip()
    return None


CG_FILES = ("memory.max", "memory.low", "memory.min", "memory.high", "cpu.max",
            "cpu.max.burst", "cpu.weight", "pids.max")


def read_inside(engine, name, files):
    """The container's own cgroup files, as the container reads them (cgroup namespace)."""
    script = "cd /sys/fs/cgroup && for f in " + " ".join(files) + \
        "; do echo \"$f=$(cat $f | head -n1)\"; done"
    out = run_files([engine, "exec", name, "sh", "-c", script]).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def test_systemd_cgroup_files_survive_daemon_reload(sd_bundle):
    """Limits with a unit property go as the property, the rest only to the cgroup files
    (unified keys, cpu burst, hugetlb, io.max): a daemon-reload undoes none of them."""
    dev = block_device()
    huge = pathlib.Path("/sys/kernel/mm/hugepages/hugepages-2048kB").exists()
    res = {"memory": {"limit": 64 << 20, "reservation": 16 << 20},
           "cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 20000},
           "pids": {"limit": 40},
           "unified": {"memory.high": str(48 << 20), "memory.min": str(8 << 20)}}
    want = {"memory.max": str(64 << 20), "memory.low": str(16 << 20),
            "memory.min": str(8 << 20), "memory.high": str(48 << 20),
            "cpu.max": "50000 100000", "cpu.max.burst": "20000", "cpu.weight": "20",
            "pids.max": "40"}
    files = list(CG_FILES)
    if huge:
        res["hugepageLimits"] = [{"pageSize": "2MB", "limit": 4 << 20}]
        want["hugetlb.2MB.max"] = str(4 << 20)
        files.append("hugetlb.2MB.max")
    if dev:
        major, minor = (int(x) for x in dev.split(":"))
        res["blockIO"] = {"throttleReadBpsDevice": [
            {"major": major, "minor": minor, "rate": 1 << 20}]}
        want["io.max"] = f"{dev} rbps={1 << 20} wbps=max riops=max wiops=max"
        files.append("io.max")
    for engine in engines():
        name = f"sdfile{os.getpid()}{engine_tag(engine)}"
        unit = f"ref-{name}.scope"
        b = sd_bundle(name, resources=res, cgroups_path=f"system.slice:ref:{name}")
        berth_sd("run", "-d", "--bundle", b, name, engine=engine)
        if engine == "runc":
            # runc 1.1 leaves the cpu burst out under its systemd driver
            want = {k: v for k, v in want.items() if k != "cpu.max.burst"}
            files = [f for f in files if f != "cpu.max.burst"]
        before = read_inside(engine, name, files)
        assert before == want, (engine, before)
        # systemd's view of the limits it has a property for
        p = show(unit, "MemoryMax", "MemoryLow", "MemoryMin", "MemoryHigh", "TasksMax",
                 "CPUWeight", "CPUQuotaPerSecUSec")
        assert p == {"MemoryMax": str(64 << 20), "MemoryLow": str(16 << 20),
                     "MemoryMin": str(8 << 20), "MemoryHigh": str(48 << 20), "TasksMax": "40",
                     "CPUWeight": "20", "CPUQuotaPerSecUSec": "500ms"}, (engine, p)
        run("systemctl", "daemon-reload")
        after = read_inside(engine, name, files)
        assert after == want, (engine, after)
        subprocess.run([engine, "delete", "--force", name], check=True, capture_output=True)
        wait_for(lambda: unit_listed(unit) == [], timeout=10, what=f"{engine}: {unit} gone")


def test_systemd_cgroup_cpu_idle_survives_daemon_reload(sd_bundle):
    """cpu.idle, which systemd writes as CPUWeight=idle (and back to 0 without it)."""
    for key, res in (("idle", {"cpu": {"idle": 1}}), ("unified", {"unified": {"cpu.idle": "1"}})):
        name = f"sdidle{os.getpid()}{key[0]}"
        b = sd_bundle(name, resources=res)
        berth_sd("run", "-d", "--bundle", b, name)
        assert read_inside(BERTH, name, ["cpu.idle"]) == {"cpu.idle": "1"}, key
        run("systemctl", "daemon-reload")
        assert read_inside(BERTH, name, ["cpu.idle"]) == {"cpu.idle": "1"}, key
        run(BERTH, "delete", "--force", name)


def cmdline(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def counter(b):
    try:
        return int((b / "rootfs" / "tmp" / "n").read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def test_systemd_cgroup_update_pause_kill_all(sd_bundle):
    name = f"sdupd{os.getpid()}"
    unit = f"berth-{name}.scope"
    b = sd_bundle(name, script="sleep 1000 & i=0; while :; do i=$((i+1)); echo $i > /tmp/n; "
                  "sleep 0.1; done", resources=RESOURCES)
    berth_sd("run", "-d", "--bundle", b, name)
    cg = pathlib.Path(f"/sys/fs/cgroup/system.slice/{unit}")
    st = json.loads(run(BERTH, "state", name).stdout)

    # update: memory and cpu, in systemd's view and in the files, kept over a reload
    run(BERTH, "update", "--memory", str(80 << 20), "--cpu-quota", "30000", "--cpu-period",
        "100000", "--cpu-shares", "256", name)
    for when in ("update", "daemon-reload"):
        p = show(unit, "MemoryMax", "CPUQuotaPerSecUSec", "CPUWeight")
        assert p == {"MemoryMax": str(80 << 20), "CPUQuotaPerSecUSec": "300ms",
                     "CPUWeight": "10"}, (when, p)
        assert (cg / "memory.max").read_text().strip() == str(80 << 20), when
        assert (cg / "cpu.max").read_text().split() == ["30000", "100000"], when
        assert (cg / "cpu.weight").read_text().strip() == "10", when
        if when == "update":
            run("systemctl", "daemon-reload")

    # ps: the init and its children, all in the scope
    wait_for(lambda: counter(b) > 0, what="the counter")
    # (the loop's short sleeps come and go: only the long-lived ones must be listed)
    sleeper = [p for p in map(int, (cg / "cgroup.procs").read_text().split())
               if cmdline(p) == b"sleep\x001000\x00"]
    ps = json.loads(run(BERTH, "ps", "--format", "json", name).stdout)
    now = set(map(int, (cg / "cgroup.procs").read_text().split()))
    assert st["pid"] in ps and len(sleeper) == 1 and sleeper[0] in ps, (ps, sleeper)
    assert all(p in now or not pathlib.Path(f"/proc/{p}").exists() for p in ps), (ps, now)

    # pause: frozen through the scope's cgroup, also over a daemon-reload
    run(BERTH, "pause", name)
    assert json.loads(run(BERTH, "state", name).stdout)["status"] == "paused"
    assert "frozen 1" in (cg / "cgroup.events").read_text()
    n = counter(b)
    run("systemctl", "daemon-reload")
    time.sleep(1)
    assert counter(b) == n
    assert json.loads(run(BERTH, "state", name).stdout)["status"] == "paused"
    run(BERTH, "resume", name)
    assert json.loads(run(BERTH, "state", name).stdout)["status"] == "running"
    wait_for(lambda: counter(b) > n, timeout=10, what="the counter to move again")

    # kill --all: every process of the scope; then systemd stops the empty scope
    procs = [int(x) for x in (cg / "cgroup.procs").read_text().split()]
    assert len(procs) >= 2
    run(BERTH, "kill", "--all", name, "KILL")
    wait_for(lambda: json.loads(run(BERTH, "state", name).stdout)["status"] == "stopped",
             timeout=10, what="the container to stop")
    wait_for(lambda: not any(pathlib.Path(f"/proc/{p}").exists() for p in procs),
             timeout=10, what="every process gone")
    # its processes died first: delete without --force is clean all the same
    run(BERTH, "delete", name)
    assert unit_listed(unit) == [] and not cg.exists()
    assert run(BERTH, "state", name, check=False).returncode != 0


def test_unit_socket_activation(instance):
    """berth@.socket: the container gets the listening socket as fd 3 (LISTEN_FDS=1)."""
    name = instance("exec notify --serve READY=1 STATUS=serving")
    sock_unit, unit = f"berth@{name}.socket", f"berth@{name}.service"
    path = pathlib.Path(f"/run/berth/sockets/{name}.sock")
    run("systemctl", "start", sock_unit)
    assert show(unit, "ActiveState")["ActiveState"] == "inactive"
    assert path.is_socket()

    for _ in range(2):  # a second connection reaches the same container
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(60)
            c.connect(str(path))
            line = c.makefile().readline().strip()
        assert line == "served by pid 1 LISTEN_FDS=1", line
    p = show(unit, "ActiveState", "MainPID", "StatusText")
    assert p["ActiveState"] == "active" and p["StatusText"] == "serving", p
    st = json.loads(run(BERTH, "state", name).stdout)
    assert int(p["MainPID"]) == st["pid"]
    run("systemctl", "stop", sock_unit, unit)
    assert leftovers(name) == []
    assert not path.exists()
    assert show(sock_unit, "ActiveState")["ActiveState"] == "inactive"
