# SPDX-License-Identifier: LGPL-2.1-or-later
"""The container's process: capabilities, user and groups, umask, rlimits,
env, cwd, hostname, domainname, sysctls, noNewPrivileges, oomScoreAdj."""

import os
import stat
import shutil
import subprocess
import tempfile

import pytest

from conftest import BERTH, MARK

CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
CAP_NUM = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
           "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
           "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
           "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
           "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
           "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
           "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
           "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
           "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
           "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
           "CAP_CHECKPOINT_RESTORE": 40}


def mask(names):
    m = 0
    for n in names:
        m |= 1 << CAP_NUM[n]
    return m


def status(r):
    assert r.rc == 0, r
    out = {}
    for line in r.out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def test_default_capabilities_match_config(env):
    caps = env.process["capabilities"]
    st = status(env.sh("cat /proc/self/status"))
    for key, field in (("bounding", "CapBnd"), ("effective", "CapEff"),
                       ("permitted", "CapPrm"), ("inheritable", "CapInh"), ("ambient", "CapAmb")):
        assert int(st[field], 16) == mask(caps.get(key, [])), (key, st[field])


def test_configured_capabilities(env):
    env.process["noNewPrivileges"] = True
    env.process["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT"],
        "effective": ["CAP_CHOWN", "CAP_KILL"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL"],
    }
    st = status(env.sh("cat /proc/self/status"))
    assert int(st["CapBnd"], 16) == 0x40421
    assert int(st["CapInh"], 16) == 0x20
    # exec as uid 0 under no_new_privs: permitted stays the configured set and
    # effective becomes all of it (the effective set alone is checked with a non-root
    # user below)
    assert int(st["CapPrm"], 16) == 0x421
    assert int(st["CapEff"], 16) == 0x421
    assert int(st["CapAmb"], 16) == 0


def test_capabilities_root_without_nnp_gets_bounding(env):
    env.process["noNewPrivileges"] = False
    env.process["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_SYS_CHROOT"],
        "effective": ["CAP_KILL"],
        "permitted": ["CAP_KILL"],
    }
    st = status(env.sh("cat /proc/self/status"))
    assert int(st["CapBnd"], 16) == 0x40021
    assert int(st["CapPrm"], 16) == 0x40021


def test_capabilities_non_root_with_ambient(env):
    env.process["user"] = {"uid": 1000, "gid": 1000}
    env.process["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    }
    st = status(env.sh("cat /proc/self/status"))
    assert int(st["CapBnd"], 16) == 0x421
    assert int(st["CapAmb"], 16) == 0x400
    assert int(st["CapPrm"], 16) == 0x400
    assert int(st["CapEff"], 16) == 0x400
    assert int(st["CapInh"], 16) == 0x420


def test_no_capabilities_cannot_chown(env):
    env.process["capabilities"] = {}
    r = env.sh("grep Cap /proc/self/status; touch /tmp/f; chown 1000 /tmp/f && echo CHOWNED; true")
    st = status(r)
    assert int(st["CapEff"], 16) == 0 and int(st["CapBnd"], 16) == 0
    assert "CHOWNED" not in r.out


def test_all_capabilities_clear_error(env):
    """The host's bounding set lacks CAP_SYS_RESOURCE: asking for everything must fail
    clearly, naming the capability, and leave nothing behind."""
    allcaps = sorted(CAP_NUM, key=CAP_NUM.get)
    env.process["capabilities"] = {k: allcaps for k in ("bounding", "effective", "permitted")}
    r = env.run(["true"])
    assert r.rc == 1, r
    assert len(r.err_lines) == 1, r
    assert "cap_sys_resource" in r.err.lower(), r
    assert env.container_ids() == []


def test_user_and_groups(env):
    env.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1001, 1002]}
    r = env.sh("grep -E '^(Uid|Gid|Groups):' /proc/self/status; id -u; id -g; id -un")
    st = status(r)
    assert st["Uid"].split() == ["1000"] * 4
    assert st["Gid"].split() == ["1000"] * 4
    assert sorted(st["Groups"].split()) == ["1001", "1002"]
    assert r.out.splitlines()[-3:] == ["1000", "1000", "user"]


def test_root_has_no_extra_groups(env):
    env.process["user"] = {"uid": 0, "gid": 0}
    st = status(env.sh("cat /proc/self/status"))
    assert st["Groups"] == ""


def test_umask(env):
    env.process["user"]["umask"] = 0o027
    r = env.sh("umask; touch /tmp/f; stat -c %a /tmp/f")
    assert r.out.split() == ["0027", "640"], r


def test_default_umask(env):
    env.process["user"].pop("umask", None)
    r = env.sh("umask")
    assert r.out.strip() == "0022", r


def test_rlimits(env):
    env.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 777, "hard": 888},
                              {"type": "RLIMIT_NPROC", "soft": 4000, "hard": 4000},
                              {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    r = env.sh("ulimit -n; cat /proc/self/limits")
    assert r.rc == 0, r
    assert r.out.splitlines()[0] == "777"
    lim = {l[:26].strip(): l[26:].split() for l in r.out.splitlines()[2:]}
    assert lim["Max open files"][:2] == ["777", "888"]
    assert lim["Max processes"][:2] == ["4000", "4000"]
    assert lim["Max core file size"][:2] == ["0", "0"]


def test_rlimit_above_hard_limit_clear_error(env):
    env.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 30000, "hard": 30000}]
    r = env.run(["true"])
    assert r.rc == 1, r
    assert len(r.err_lines) == 1, r
    assert "RLIMIT_NOFILE" in r.err, r
    assert env.container_ids() == []


def test_unknown_rlimit_refused(env):
    env.process["rlimits"] = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]
    r = env.run(["true"])
    assert r.rc == 1, r
    assert "RLIMIT_BOGUS" in r.err and "config.json" in r.err, r


def test_env(env):
    env.process["env"] += ["A=1", "B=two words", "EMPTY="]
    r = env.run(["env"])
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert "A=1" in lines and "B=two words" in lines and "EMPTY=" in lines
    assert any(l.startswith("PATH=") for l in lines)
    # nothing of berth's own environment leaks in (HOME may be added, as runc does)
    extra = [l for l in lines if l not in env.process["env"]]
    assert all(l.startswith("HOME=") for l in extra), extra


def test_args_with_spaces(env):
    r = env.run(["sh", "-c", 'printf "[%s]" "$@"', "argv0", "a b", "", "c"])
    assert r.out == "[a b][][c]", r


def test_cwd(env):
    env.process["cwd"] = "/tmp"
    r = env.run(["pwd"])
    assert r.out == "/tmp\n", r


def test_cwd_created_if_missing(env):
    env.process["cwd"] = "/does/not/exist"
    r = env.run(["pwd"])
    assert r.out == "/does/not/exist\n", r
    assert (env.rootfs / "does" / "not" / "exist").is_dir()


def test_relative_cwd_refused(env):
    env.process["cwd"] = "tmp"
    r = env.run(["pwd"])
    assert r.rc == 1, r
    assert "config.json: process.cwd" in r.err, r


def test_hostname_and_domainname(env, host_ns):
    env.cfg["hostname"] = "box1"
    env.cfg["domainname"] = "example.test"
    r = env.sh("hostname; cat /proc/sys/kernel/domainname")
    assert r.out.splitlines() == ["box1", "example.test"], r
    assert open("/proc/sys/kernel/hostname").read().strip() != "box1"


def test_hostname_without_uts_refused(env):
    env.remove_ns("uts")
    env.cfg["hostname"] = "box1"
    r = env.run(["true"])
    assert r.rc == 1, r
    assert "hostname" in r.err, r


def test_sysctl_net_in_new_netns(env):
    env.linux["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789",
                           "kernel.msgmax": "9999"}
    r = env.sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax "
               "/proc/sys/kernel/msgmax")
    assert r.out.split() == ["1", "123456789", "9999"], r
    assert open("/proc/sys/net/ipv4/ip_forward").read().strip() == "0"
    assert open("/proc/sys/kernel/shmmax").read().strip() != "123456789"


def test_sysctl_net_without_netns_refused(env):
    env.remove_ns("network")
    env.linux["sysctl"] = {"net.ipv4.ip_forward": "1"}
    r = env.run(["true"])
    assert r.rc == 1, r
    assert "net.ipv4.ip_forward" in r.err, r
    assert open("/proc/sys/net/ipv4/ip_forward").read().strip() == "0"


def test_sysctl_not_namespaced_refused(env):
    env.linux["sysctl"] = {"vm.swappiness": "10"}
    r = env.run(["true"])
    assert r.rc == 1, r
    assert "vm.swappiness" in r.err, r


def test_no_new_privileges(env):
    env.process["noNewPrivileges"] = True
    st = status(env.sh("cat /proc/self/status"))
    assert st["NoNewPrivs"] == "1"
    env.process["noNewPrivileges"] = False
    st = status(env.sh("cat /proc/self/status"))
    assert st["NoNewPrivs"] == "0"


def test_oom_score_adj(env):
    env.process["oomScoreAdj"] = 345
    r = env.sh("cat /proc/self/oom_score_adj")
    assert r.out.strip() == "345", r


def test_scheduler_and_ioprio(env):
    env.process["scheduler"] = {"policy": "SCHED_BATCH", "nice": 5}
    env.process["ioPriority"] = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}
    r = env.sh("cat /proc/self/stat")
    assert r.rc == 0, r
    f = r.out.splitlines()[0].rsplit(")", 1)[1].split()
    # fields counted from 3 (state) after the comm: nice is field 19, policy field 41
    assert f[19 - 3] == "5", f
    assert f[41 - 3] == "3", f  # SCHED_BATCH


def test_personality_linux32(env):
    env.linux["personality"] = {"domain": "LINUX32"}
    r = env.run(["uname", "-m"])
    assert r.out.strip() in ("i686", "i386"), r


def test_rlimit_uint64_max_is_unlimited(env):
    env.process["rlimits"] = [{"type": "RLIMIT_CORE", "soft": 0,
                               "hard": 18446744073709551615}]
    r = env.sh("cat /proc/self/limits")
    lim = {l[:26].strip(): l[26:].split() for l in r.out.splitlines()[1:]}
    assert lim["Max core file size"][:2] == ["0", "unlimited"], r


def test_terminal_refused_clearly(env):
    """create with a terminal but no --console-socket: nobody could take the pty."""
    env.process["terminal"] = True
    _, r = env.create(["true"], check=False)
    assert r.rc == 1, r
    assert len(r.err_lines) == 1 and "process.terminal" in r.err, r
    assert env.container_ids() == []


@pytest.mark.parametrize("field,lsm,probe", [
    ("apparmorProfile", "AppArmor", "/sys/module/apparmor/parameters/enabled"),
    ("selinuxLabel", "SELinux", "/sys/fs/selinux/enforce"),
])
def test_security_label_without_its_lsm_refused(env, field, lsm, probe):
    """A label berth cannot apply must not start the process unconfined."""
    if os.path.exists(probe):
        pytest.skip(f"{lsm} is enabled on this host")
    env.process[field] = "berth-test"
    _, r = env.create(["true"], check=False)
    assert r.rc == 1, r
    assert len(r.err_lines) == 1 and f"process.{field}" in r.err and lsm in r.err, r
    assert env.container_ids() == []


def test_mount_label_refused_clearly_with_selinux(env):
    """Where SELinux is enabled, a mount label berth cannot apply is refused, never
    ignored (without SELinux it is ignored: test_mounts.py)."""
    if not os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("SELinux is not enabled on this host")
    env.linux["mountLabel"] = "system_u:object_r:container_file_t:s0"
    _, r = env.create(["true"], check=False)
    assert r.rc == 1, r
    assert len(r.err_lines) == 1 and "linux.mountLabel" in r.err, r
    assert env.container_ids() == []


# (uid_t)-1 is "leave unchanged" to setresuid/setgroups: such a process would stay root
@pytest.mark.parametrize("field,value,path,kind", [
    ("uid", 4294967295, "process.user.uid", "uid"),
    ("gid", 4294967295, "process.user.gid", "gid"),
    ("additionalGids", [5, 4294967295], "process.user.additionalGids[1]", "gid"),
])
def test_user_id_minus_one_refused(env, field, value, path, kind):
    env.process["user"] = {"uid": 1000, "gid": 1000}
    env.process["user"][field] = value
    cid = env.new_id()
    r = env.run(["id"], id=cid)
    assert r.rc == 1 and len(r.err_lines) == 1, r
    assert f"config.json: {path}: 4294967295 is not a valid {kind}" in r.err, r
    assert r.out == "", r
    assert env.container_ids() == []


@pytest.mark.parametrize("mapping,msg", [
    ({"containerID": 4294967295, "hostID": 100000, "size": 1},
     "linux.uidMappings[0]: containerID 4294967295 and size 1 reach 4294967295"),
    ({"containerID": 0, "hostID": 4294901760, "size": 65536},
     "linux.uidMappings[0]: hostID 4294901760 and size 65536 reach 4294967295"),
])
def test_id_mapping_reaching_minus_one_refused(env, mapping, msg):
    env.set_ns("user")
    env.linux["uidMappings"] = [mapping]
    env.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    r = env.run(["id"])
    assert r.rc == 1 and len(r.err_lines) == 1, r
    assert f"config.json: {msg}, which is not a valid uid" in r.err, r
    assert env.container_ids() == []


@pytest.mark.parametrize("period", [None, 0])
def test_sched_deadline_without_period(env, period):
    """The kernel takes period 0 as period = deadline; so do runc and crun."""
    sched = {"policy": "SCHED_DEADLINE", "runtime": 10000000, "deadline": 100000000}
    if period is not None:
        sched["period"] = period
    env.process["scheduler"] = sched
    r = env.run(["cat", "/proc/self/stat"])  # no fork: a deadline task may not fork
    assert r.rc == 0, r
    f = r.out.rsplit(")", 1)[1].split()
    assert f[41 - 3] == "6", f  # SCHED_DEADLINE


def test_missing_cwd_created_before_root_is_read_only(env):
    env.cfg["root"]["readonly"] = True
    env.process["cwd"] = "/new/work/dir"
    r = env.run(["pwd"])
    assert r.rc == 0, r
    assert r.out.strip() == "/new/work/dir", r
    runc = shutil.which("runc")
    if runc:
        shutil.rmtree(env.rootfs / "new")
        root = tempfile.mkdtemp(dir=env.dir)
        rid = env.new_id()
        rr = subprocess.run([runc, "--root", root, "run", "-b", str(env.bundle), rid],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=20)
        subprocess.run([runc, "--root", root, "delete", "-f", rid], capture_output=True)
        assert rr.returncode == 0, rr
        assert rr.stdout.strip() == "/new/work/dir", rr


def test_stdio_pipes_belong_to_the_user_host_nodes_stay(env):
    """The pipes the caller hands over are chowned to process.user (as runc),
    so that the process can reopen them; a device node or a file of the host is
    never chowned."""
    env.process["user"] = {"uid": 1000, "gid": 1000}
    env.process["args"] = ["sh", "-c", "echo piped > /proc/self/fd/1; "
                           "echo err > /proc/self/fd/2; cat /proc/self/fd/0"]
    env.save()
    argv = [BERTH, "--root", str(env.root), "run", "-b", str(env.bundle)]
    penv = dict(os.environ, **{MARK: env.mark})
    ids = [env.new_id(), env.new_id()]
    env.ids.update(ids)
    r = subprocess.run(argv + [ids[0]], input="in\n", capture_output=True, text=True,
                       timeout=20, env=penv)
    assert r.returncode == 0, r
    assert r.stdout.split() == ["piped", "in"], r
    assert r.stderr.strip() == "err", r
    runc = shutil.which("runc")
    if runc:
        root = tempfile.mkdtemp(dir=env.dir)
        rid = env.new_id()
        rr = subprocess.run([runc, "--root", root, "run", "-b", str(env.bundle), rid],
                            input="in\n", capture_output=True, text=True, timeout=20)
        subprocess.run([runc, "--root", root, "delete", "-f", rid], capture_output=True)
        assert (rr.returncode, rr.stdout.split()) == (0, ["piped", "in"]), rr

    node = env.dir / "zero"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    out = env.dir / "out"
    env.process["args"] = ["true"]
    env.save()
    with open(node) as fin, open(out, "w") as fout:
        r = subprocess.run(argv + [ids[1]], stdin=fin, stdout=fout,
                           stderr=subprocess.PIPE, text=True, timeout=20, env=penv)
    assert r.returncode == 0, r
    assert os.stat(node).st_uid == 0
    assert os.stat(out).st_uid == 0


def test_init_is_a_session_leader_without_a_terminal(env):
    """As runc's init: a session of its own (CRIU dumps only whole sessions)."""
    st = env.sh("cat /proc/self/stat").out
    fields = st.rsplit(")", 1)[1].split()
    assert fields[3] == st.split()[0], st


def test_stdin_dev_null_is_the_containers_own(env):
    """As runc's init: the host's /dev/null on stdio is reopened from the container's /dev
    (a mount the container sees; CRIU cannot dump a file of a mount it cannot see)."""
    r = env.sh("grep mnt_id /proc/self/fdinfo/0; cat /proc/self/mountinfo")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    mnt_id = lines[0].split()[1]
    assert mnt_id in [l.split()[0] for l in lines[1:]], r.out
