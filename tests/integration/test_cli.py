# SPDX-License-Identifier: LGPL-2.1-or-later
"""The command line itself: --version, features, spec, --help, option and ID
checking, config.json errors and the JSON log."""

import datetime
import json
import os
import re
import subprocess
import time

import pytest

from conftest import BERTH, RUNC, traced_env


def test_version_first_line(env):
    r = env.berth("--version", root=False, check=True)
    lines = r.out.splitlines()
    assert re.fullmatch(r"berth version \d+\.\d+\.\d+", lines[0]), r
    assert any(l.strip() == "spec: 1.3.0" for l in lines[1:]), r


def test_features_json(env):
    r = env.berth("features", check=True)
    f = json.loads(r.out)
    assert f["ociVersionMax"] == "1.3.0"
    assert "ociVersionMin" in f
    assert set(f["hooks"]) >= {"prestart", "createRuntime", "createContainer", "startContainer",
                               "poststart", "poststop"}
    ns = set(f["linux"]["namespaces"])
    assert ns >= {"pid", "network", "mount", "ipc", "uts", "cgroup", "user"}
    assert "bind" in f["mountOptions"] and "rro" in f["mountOptions"]


def test_spec_writes_config_that_runs(env):
    bundle = env.dir / "specbundle"
    bundle.mkdir()
    r = env.berth("spec", "-b", bundle, check=True)
    cfg = json.loads((bundle / "config.json").read_text())
    assert cfg["ociVersion"] == "1.3.0"
    assert cfg["root"]["path"] == "rootfs"
    # the bundle gets our rootfs; only the args change
    os.rename(env.rootfs, bundle / "rootfs")
    try:
        cfg["process"]["args"] = ["true"]
        (bundle / "config.json").write_text(json.dumps(cfg))
        r = env.berth("run", "-b", bundle, env.new_id())
        assert r.rc == 0, r
    finally:
        os.rename(bundle / "rootfs", env.rootfs)


def test_spec_rootless(env):
    bundle = env.dir / "rl"
    bundle.mkdir()
    env.berth("spec", "--rootless", "-b", bundle, check=True)
    cfg = json.loads((bundle / "config.json").read_text())
    types = [n["type"] for n in cfg["linux"]["namespaces"]]
    assert "user" in types
    assert cfg["linux"]["uidMappings"] and cfg["linux"]["gidMappings"]


@pytest.mark.parametrize("cmd", ["create", "start", "state", "kill", "delete", "run", "list",
                                 "ps", "spec", "features"])
def test_help_for_every_command(env, cmd):
    r = env.berth(cmd, "--help", check=True)
    assert cmd in r.out and "sage" in r.out, r


def test_global_help(env):
    r = env.berth("--help", root=False, check=True)
    for cmd in ("create", "start", "state", "kill", "delete", "run", "list", "spec"):
        assert cmd in r.out


def test_unknown_command_is_usage_error(env):
    r = env.berth("frobnicate")
    assert r.rc == 2, r
    assert r.err.startswith("berth: "), r


def test_unknown_option_is_usage_error(env):
    r = env.berth("state", "--no-such-option", "x")
    assert r.rc == 2, r


def test_missing_id_is_usage_error(env):
    r = env.berth("state")
    assert r.rc == 2, r


def test_unknown_container(env):
    r = env.berth("state", "nosuchthing")
    assert r.rc == 1
    assert r.err_lines == ['berth: container "nosuchthing" does not exist'], r


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x" * 1025, "a b", "..", "a\nb"])
def test_invalid_ids_refused(env, bad):
    env.save()
    r = env.berth("create", "-b", env.bundle, bad)
    assert r.rc in (1, 2), r
    assert r.err.startswith("berth: "), r
    assert len(r.err_lines) == 1, r
    assert env.container_ids() == []
    assert not (env.dir / "x").exists() and not (env.root.parent / "x").exists()
    r = env.berth("state", bad)
    assert r.rc in (1, 2), r


def test_longest_id_accepted(env):
    cid = env.new_id()
    cid = cid + "x" * (1024 - len(cid))
    env.save()
    r = env.berth("run", "-b", env.bundle, cid)
    # NAME_MAX is 255: a long ID either works or fails cleanly, never half-created
    if r.rc != 0:
        assert len(r.err_lines) == 1, r
    assert env.container_ids() == []


def _one_error_line(r):
    assert r.rc == 1, r
    assert len(r.err_lines) == 1, r
    return r.err_lines[0]


def test_bad_namespace_type(env):
    env.linux.setdefault("namespaces", []).append({"type": "netx"})
    idx = len(env.linux["namespaces"]) - 1
    env.save()
    for verb in ("create", "run"):
        r = env.berth(verb, "-b", env.bundle, env.new_id())
        line = _one_error_line(r)
        assert line.startswith("berth: "), r
        # callers may add context ("create \"id\": ") before the parser's message
        assert line.endswith(f'config.json: linux.namespaces[{idx}].type: '
                             f'unknown namespace "netx"'), r
        assert env.container_ids() == []


def test_bad_json_syntax(env):
    (env.bundle / "config.json").write_text('{"ociVersion": "1.2.0", "process": {')
    r = env.berth("create", "-b", env.bundle, env.new_id())
    line = _one_error_line(r)
    assert "config.json" in line
    assert env.container_ids() == []


def test_wrong_type_names_json_path(env):
    env.process["args"] = "sh"
    env.save()
    r = env.berth("create", "-b", env.bundle, env.new_id())
    line = _one_error_line(r)
    assert "config.json: process.args" in line, r
    assert env.container_ids() == []


def test_missing_config(env):
    r = env.berth("create", "-b", env.bundle, env.new_id())
    line = _one_error_line(r)
    assert "config.json" in line
    assert env.container_ids() == []


def test_missing_bundle(env):
    r = env.berth("create", "-b", env.dir / "nothing-here", env.new_id())
    line = _one_error_line(r)
    assert "nothing-here" in line
    assert env.container_ids() == []


def test_config_over_16mib_refused(env):
    env.cfg["annotations"] = {"big": "x" * (17 * 1024 * 1024)}
    env.save()
    r = env.berth("create", "-b", env.bundle, env.new_id())
    _one_error_line(r)
    assert env.container_ids() == []


def test_missing_rootfs(env):
    env.cfg["root"]["path"] = "no-such-rootfs"
    env.save()
    r = env.berth("run", "-b", env.bundle, env.new_id())
    assert r.rc == 1, r
    assert env.container_ids() == []


def test_executable_not_found(env):
    r = env.run(["no-such-program"])
    assert r.rc != 0, r
    assert "no-such-program" in r.err, r
    assert env.container_ids() == []


@pytest.mark.parametrize("form", ["split", "equals"])
def test_log_json(env, form):
    log = env.dir / "berth.log"
    fmt = ["--log-format", "json"] if form == "split" else ["--log-format=json"]
    r = env.berth("--log", log, *fmt, "state", "ghost")
    assert r.rc == 1, r
    lines = [l for l in log.read_text().splitlines() if l.strip()]
    assert lines, "nothing logged"
    entry = json.loads(lines[-1])
    assert entry["level"] == "error"
    assert 'container "ghost" does not exist' in entry["msg"]
    # RFC 3339
    t = entry["time"].replace("Z", "+00:00")
    datetime.datetime.fromisoformat(t)
    assert "T" in entry["time"]


def test_log_text(env):
    log = env.dir / "berth.log"
    r = env.berth("--log", log, "--log-format", "text", "state", "ghost")
    assert r.rc == 1
    text = log.read_text()
    assert "ghost" in text
    with pytest.raises(ValueError):
        json.loads(text.splitlines()[-1])


def test_bad_log_format(env):
    r = env.berth("--log-format", "xml", "list")
    assert r.rc == 2, r


def _set(cfg, path, value):
    """Set cfg[a][b]... from a dotted path; list indexes as ints."""
    keys = path.split(".")
    d = cfg
    for k in keys[:-1]:
        d = d[int(k)] if isinstance(d, list) else d.setdefault(k, {})
    last = keys[-1]
    if isinstance(d, list):
        d[int(last)] = value
    else:
        d[last] = value


BAD_CONFIGS = [
    # (dotted path to set, value, JSON path the error must name)
    ("process.args", [], "process.args"),
    ("process.cwd", "relative", "process.cwd"),
    ("process.user.uid", -1, "process.user.uid"),
    ("process.user.uid", "zero", "process.user.uid"),
    ("process.capabilities.bounding", ["CAP_NOPE"], "process.capabilities.bounding[0]"),
    ("process.rlimits", [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 5}],
     "process.rlimits[0]"),
    ("linux.namespaces", [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "pid")],
     "linux.namespaces[5]"),
    ("linux.devices", [{"path": "/dev/x", "type": "q", "major": 1, "minor": 1}],
     "linux.devices[0].type"),
    ("linux.devices", [{"path": "dev/x", "type": "c", "major": 1, "minor": 1}],
     "linux.devices[0].path"),
    ("hooks", {"prestart": [{"path": "/bin/true", "timeout": 0}]}, "hooks.prestart[0].timeout"),
    ("root.path", 5, "root.path"),
]


@pytest.mark.parametrize("path,value,json_path", BAD_CONFIGS,
                         ids=[f"{p}={json.dumps(v)[:30]}" for p, v, _ in BAD_CONFIGS])
def test_bad_config_names_json_path(env, path, value, json_path):
    _set(env.cfg, path, value)
    env.save()
    r = env.berth("run", "-b", env.bundle, env.new_id())
    line = _one_error_line(r)
    assert f"config.json: {json_path}" in line, r
    assert env.container_ids() == []


def test_unknown_fields_ignored(env):
    env.cfg["someFutureField"] = {"x": [1, 2, 3]}
    env.process["alsoUnknown"] = True
    env.linux["unknownLinuxThing"] = "v"
    r = env.run(["true"])
    assert r.rc == 0, r


def test_spec_does_not_overwrite(env):
    env.save()
    before = (env.bundle / "config.json").read_text()
    r = env.berth("spec", "-b", env.bundle)
    assert r.rc == 1, r
    assert (env.bundle / "config.json").read_text() == before


def test_each_message_is_one_write(env):
    """Parallel berths share a stderr (and a --log file): a message written in pieces
    interleaves with the others mid-word. Each line must leave in one write(2)."""
    log = env.dir / "one-write.log"
    trace = env.dir / "strace.out"
    env.berth("list", check=True)  # berth makes the root
    argv = ["strace", "-f", "-qq", "-e", "trace=write", "-e", "signal=none", "-s", "4096",
            "-o", str(trace), BERTH, "--root", str(env.root), "--log", str(log),
            "--debug", "state", "no-such-container-with-a-long-name"]
    cp = subprocess.run(argv, capture_output=True, text=True, env=traced_env(env.mark))
    assert cp.returncode == 1, cp
    err_lines = [l for l in cp.stderr.splitlines() if l.startswith("berth: ")]
    assert err_lines, cp
    writes = [l for l in trace.read_text().splitlines() if "write(" in l]
    to_stderr = [l for l in writes if re.search(r"write\(2, ", l)]
    assert len(to_stderr) == len(err_lines), "\n".join(writes)
    for line, w in zip(err_lines, to_stderr):
        assert json.dumps(line + "\n")[1:-1] in w, (line, w)
    # the --log file: one write per line as well, appended
    log_lines = log.read_text().splitlines()
    assert len(log_lines) >= 1 and "no-such-container" in log_lines[-1]
    to_log = [l for l in writes if not re.search(r"write\([12], ", l)]
    assert len(to_log) == len(log_lines), "\n".join(writes)


def test_lone_surrogate_refused_with_json_path(env):
    """yajl decodes a lone "\\ud800" to "?": berth must refuse it, not run something else."""
    env.process["args"] = ["echo", "PLACEHOLDER"]
    env.save()
    cfg = env.bundle / "config.json"
    cfg.write_text(cfg.read_text().replace('"PLACEHOLDER"', '"x\\ud800"'))
    cid = env.new_id()
    r = env.berth("run", "-b", env.bundle, cid)
    assert r.rc == 1 and len(r.err_lines) == 1, r
    assert "config.json: process.args[1]: invalid JSON string at line" in r.err, r
    assert "lone UTF-16 surrogate \\ud800" in r.err, r
    assert r.out == "" and env.container_ids() == [], r


# ---------------------------------------------------------------------------
# runc's command line, side by side with runc itself where it is installed

class Runc:
    """runc with its own --root in the test's directory, on the test's bundle (its working
    directory); every container it creates is force-deleted by close()."""

    def __init__(self, env):
        self.env = env
        self.root = env.dir / "runc-state"
        self.ids = []

    def __call__(self, *args, check=False):
        if args and args[0] in ("create", "run"):
            self.ids.append(str(args[-1]))
        return self.env.berth(*args, root=self.root, binary=RUNC, cwd=self.env.bundle,
                              check=check)

    def close(self):
        for cid in self.ids:
            self("delete", "--force", cid)


@pytest.fixture
def runc(env):
    """A Runc for the test, or None when runc is not installed (the runc half is skipped)."""
    if not RUNC:
        yield None
        return
    r = Runc(env)
    yield r
    r.close()


def rmdir_cgroups(dirs, timeout=10.0):
    """Remove the cgroup directories a test made, waiting while their last tasks exit."""
    deadline = time.monotonic() + timeout
    for d in dirs:
        while os.path.exists(d):
            try:
                os.rmdir(d)
            except OSError:
                assert time.monotonic() < deadline, d
                time.sleep(0.05)


def start_with(env, name, tool):
    """Create and start the test's bundle with berth or runc (name); returns the ID."""
    cid = ("r" if name == "runc" else "") + env.new_id()
    env.ids.add(cid)
    tool("create", "--bundle", env.bundle, cid, check=True)
    tool("start", cid, check=True)
    return cid


def _ps_table(out):
    """ps output as (header fields, rows of fields)."""
    lines = [l for l in out.splitlines() if l.strip()]
    return lines[0].split(), [l.split() for l in lines[1:]]


def test_ps_runs_ps_with_its_options(env, runc):
    env.process["args"] = ["sleep", "1000"]
    cid, _ = env.create()
    env.start(cid)
    init = env.state(cid)["pid"]
    # the default is `ps -ef`, keeping the container's lines (found by the PID column)
    r = env.berth("ps", cid, check=True)
    head, rows = _ps_table(r.out)
    assert head == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], r
    assert [row[1] for row in rows] == [str(init)], r
    assert rows[0][-2:] == ["sleep", "1000"], r
    # options after the ID go to ps; --format json stays berth's own
    r = env.berth("ps", cid, "-o", "comm,pid", check=True)
    assert _ps_table(r.out) == (["COMMAND", "PID"], [["sleep", str(init)]]), r
    r = env.berth("ps", "--format", "json", cid, check=True)
    assert json.loads(r.out) == [init], r
    # without a PID column nothing can be kept: one error line
    bad = env.berth("ps", cid, "-o", "comm")
    assert bad.rc == 1 and len(bad.err_lines) == 1 and "PID" in bad.err, bad
    if runc:
        runc("create", "r" + cid, check=True)
        runc("start", "r" + cid, check=True)
        rr = runc("ps", "r" + cid, check=True)
        assert _ps_table(rr.out)[0] == head and len(_ps_table(rr.out)[1]) == 1, rr
        rr = runc("ps", "r" + cid, "-o", "comm,pid", check=True)
        assert _ps_table(rr.out)[0] == ["COMMAND", "PID"], rr
        rb = runc("ps", "r" + cid, "-o", "comm")
        assert rb.rc == 1 and "PID" in rb.err, rb


def test_kill_signal_0_checks_the_process(env, runc):
    env.process["args"] = ["sleep", "1000"]
    cid, _ = env.create()
    env.start(cid)
    results = []
    for c, tool in ((cid, env.berth), ("r" + cid, runc)):
        if tool is None:
            continue
        if tool is runc:
            runc("create", c, check=True)
            runc("start", c, check=True)
        # signal 0 only checks: the process is there and stays running
        got = [tool("kill", c, "0").rc, tool("kill", "--all", c, "0").rc]
        st = json.loads(tool("state", c, check=True).out)["status"]
        tool("kill", c, "KILL", check=True)
        deadline = time.monotonic() + 10
        while json.loads(tool("state", c, check=True).out)["status"] != "stopped":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        gone = tool("kill", c, "0")
        results.append((got, st, gone.rc))
        assert (got, st) == ([0, 0], "running"), gone
        assert gone.rc == 1 and "not running" in gone.err, gone
    assert all(r == results[0] for r in results), results


def test_list_json_has_runc_fields_and_owner(env, runc):
    cid, _ = env.create(["sleep", "1000"])
    stopped, _ = env.create(["true"])
    env.start(stopped)
    env.wait_status(stopped, "stopped")
    items = {c["id"]: c for c in json.loads(env.berth("list", "--format", "json",
                                                       check=True).out)}
    want = {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"}
    for c in (cid, stopped):
        assert want <= set(items[c]), items[c]
        assert items[c]["owner"] == "root" and items[c]["rootfs"] == str(env.rootfs)
    assert items[stopped]["pid"] == 0 and items[cid]["pid"] == env.state(cid)["pid"]
    # the table's OWNER column says the same
    r = env.berth("list", check=True)
    assert [l.split()[-1] for l in r.out.splitlines()] == ["OWNER", "root", "root"], r
    if runc:
        runc("create", "r" + cid, check=True)
        theirs = json.loads(runc("list", "--format", "json", check=True).out)[0]
        assert set(theirs) - {"annotations"} <= set(items[cid]), theirs
        assert theirs["owner"] == items[cid]["owner"], theirs


def test_run_keep_keeps_the_cgroup_until_delete(env, runc):
    env.remove_ns("cgroup")  # the process then reads its cgroup as the host names it
    env.process["args"] = ["sh", "-c", "grep '^0::' /proc/self/cgroup"]
    env.save()
    unified = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") \
        else "/sys/fs/cgroup"
    for name, tool in (("berth", env.berth), ("runc", runc)):
        if tool is None:
            continue
        cid = ("r" if name == "runc" else "") + env.new_id()
        env.ids.add(cid)
        r = tool("run", "--keep", "--bundle", env.bundle, cid)
        assert r.rc == 0 and r.out.startswith("0::/"), (name, r)
        cg = unified + r.out.strip()[3:]
        assert json.loads(tool("state", cid, check=True).out)["status"] == "stopped", name
        assert os.path.isdir(cg), (name, cg)
        tool("delete", cid, check=True)
        assert not os.path.exists(cg), (name, cg)


def test_create_refuses_an_existing_frozen_cgroup(env, runc):
    unified = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") \
        else "/sys/fs/cgroup"
    freezer = "/sys/fs/cgroup/freezer" if os.path.isdir("/sys/fs/cgroup/freezer") else None
    for name, tool in (("berth", env.berth), ("runc", runc)):
        if tool is None:
            continue
        cid = ("r" if name == "runc" else "") + env.new_id()
        env.ids.add(cid)
        env.process["args"] = ["true"]
        env.linux["cgroupsPath"] = "/" + cid
        env.save()
        dirs = [os.path.join(unified, cid)] + ([os.path.join(freezer, cid)] if freezer else [])
        for d in dirs:
            os.mkdir(d)
        try:
            # frozen where each runtime looks: cgroup.freeze (v2), freezer.state (v1)
            with open(os.path.join(dirs[0], "cgroup.freeze"), "w") as f:
                f.write("1")
            if freezer:
                with open(os.path.join(dirs[1], "freezer.state"), "w") as f:
                    f.write("FROZEN")
            try:
                r = tool("create", "--bundle", env.bundle, cid,
                         **({"timeout": 10} if name == "berth" else {}))
            except subprocess.TimeoutExpired as e:
                r = e
            assert not isinstance(r, subprocess.TimeoutExpired), (name, "create hung")
            assert r.rc == 1 and "frozen" in r.err, (name, r)
            if name == "berth":
                assert len(r.err_lines) == 1 and dirs[0] in r.err, r
                assert tool("state", cid).rc == 1  # nothing left of it
        finally:
            with open(os.path.join(dirs[0], "cgroup.freeze"), "w") as f:
                f.write("0")
            if freezer:
                with open(os.path.join(dirs[1], "freezer.state"), "w") as f:
                    f.write("THAWED")
            tool("delete", "--force", cid)
            rmdir_cgroups(dirs)
