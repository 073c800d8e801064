# SPDX-License-Identifier: LGPL-2.1-or-later
"""veth networking (berth.net.* annotations, berth-net helper) and
linux.netDevices. Only bridges, veths and addresses the tests make: bridges
are named after the session token, subnets are 10.2xx.y.0/24; everything is
removed in teardown and checked gone."""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import BERTH, TOKEN, traced_env

NET_RAW = "CAP_NET_RAW"
SRV = """#!/bin/sh
read x
echo "$x" > /tmp/got-$(hostname)
echo "pong $x"
"""


def ip(*args, check=True):
    cp = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check:
        assert cp.returncode == 0, cp.stderr
    return cp


def links_on(bridge):
    cp = ip("-o", "link", "show", "master", bridge, check=False)
    return [l for l in cp.stdout.splitlines() if l.strip()]


def wait_links_gone(bridge, keep=0, timeout=5.0):
    """The host ends go with the container's namespace, which the kernel frees
    asynchronously (tens of ms): wait until at most keep are left."""
    deadline = time.monotonic() + timeout
    while len(links_on(bridge)) > keep and time.monotonic() < deadline:
        time.sleep(0.02)
    return links_on(bridge)


def all_berth_veths():
    return [l for l in ip("-o", "link", "show").stdout.splitlines() if re.search(r"^\d+: bv", l)]


class Nets:
    """Bridges and subnets of one test; deleted (and checked) in teardown."""

    def __init__(self):
        self.bridges = []
        self.host_links = []
        self.used = set()

    def bridge(self):
        name = f"{TOKEN}{len(self.bridges)}"[:15]
        self.bridges.append(name)
        while True:
            a, b = random.randint(200, 254), random.randint(0, 255)
            if (a, b) not in self.used:
                self.used.add((a, b))
                return name, f"10.{a}.{b}"


@pytest.fixture
def nets(env):
    n = Nets()
    yield n
    # env's teardown (after ours) deletes containers; do it first so veths go
    for cid in env.container_ids():
        env.berth("delete", "--force", cid)
    left, kept = [], []
    for b in n.bridges:
        if ip("link", "show", b, check=False).returncode == 0:
            # berth removes a bridge it made (and its rule) with the last container on it
            kept.append(b)
            left += wait_links_gone(b)
            ip("link", "del", b, check=False)
    for l in n.host_links:
        ip("link", "del", l, check=False)
    if shutil.which("nft"):
        rules = subprocess.run(["nft", "list", "table", "ip", "berth"], capture_output=True,
                               text=True).stdout
        for a, b in n.used:
            assert f"10.{a}.{b}." not in rules, f"nftables rules left:\n{rules}"
    lease_dir = env.root / ".net"
    if lease_dir.exists():
        for f in lease_dir.glob("*.leases"):
            text = f.read_text()
            assert text == "", f"leases left in {f}: {text}"
    assert not left, f"veths left on the bridges: {left}"
    assert not kept, f"bridges berth made are still there: {kept}"


def leases_of(env, bridge):
    """The lease lines of bridge ([] when berth removed the file with the last one)."""
    f = env.root / ".net" / f"{bridge}.leases"
    return f.read_text().splitlines() if f.exists() else []


def container_addr(env, cid):
    """eth0's IPv4 address as the container sees it."""
    pid = env.state(cid)["pid"]
    cp = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-4", "-o", "addr", "show",
                         "eth0"], capture_output=True, text=True)
    m = re.search(r"inet (\S+)/", cp.stdout)
    assert m, cp
    return m.group(1)


def kill_init(env, cid):
    os.kill(env.state(cid)["pid"], signal.SIGKILL)
    env.wait_status(cid, "stopped")


def host_if_of(env, cid):
    return re.search(r"^host_if=(\S+)$", (env.root / cid / "network").read_text(),
                     re.M).group(1)


def net_env(env, bridge, prefix, address=None, caps=(), **extra):
    env.set_ns("network")
    ann = env.cfg.setdefault("annotations", {})
    ann["berth.net.bridge"] = bridge
    ann["berth.net.subnet"] = f"{prefix}.0/24"
    if address:
        ann["berth.net.address"] = address
    else:
        ann.pop("berth.net.address", None)
    for k, v in extra.items():
        ann[f"berth.net.{k}"] = v
    c = env.process.setdefault("capabilities", {})
    for s in ("bounding", "effective", "permitted"):
        lst = c.setdefault(s, [])
        for cap in caps:
            if cap not in lst:
                lst.append(cap)


def test_two_containers_ping_and_tcp(env, nets):
    br, pfx = nets.bridge()
    env.write_rootfs("/srv.sh", SRV)
    net_env(env, br, pfx, f"{pfx}.10", caps=[NET_RAW])
    env.cfg["hostname"] = "server"
    srv, _ = env.create(["nc", "-l", "-p", "5000", "-e", "/srv.sh"])
    # the host end sits on the bridge; the bridge got the gateway address
    assert len(links_on(br)) == 1
    assert f"{pfx}.1/24" in ip("-o", "-4", "addr", "show", br).stdout
    env.start(srv)

    net_env(env, br, pfx, f"{pfx}.11", caps=[NET_RAW])
    env.cfg["hostname"] = "client"
    r = env.sh(f"ip -4 -o addr show eth0; ip route; ping -c1 -W2 {pfx}.10 >/dev/null && "
               f"echo ping-ok; for i in 1 2 3 4 5 6 7 8 9 10; do "
               f"echo hello | nc -w 2 {pfx}.10 5000 && break; sleep 0.2; done")
    assert r.rc == 0, r
    assert f"inet {pfx}.11/24" in r.out
    assert f"default via {pfx}.1 dev eth0" in r.out
    assert "ping-ok" in r.out
    assert "pong hello" in r.out
    assert (env.rootfs / "tmp" / "got-server").read_text().strip() == "hello"
    env.delete(srv, force=True)
    assert wait_links_gone(br) == []


def test_other_bridge_cannot_reach(env, nets):
    # with the host forwarding or not: berth drops what is routed between its bridges
    br1, pfx1 = nets.bridge()
    br2, pfx2 = nets.bridge()
    env.write_rootfs("/srv.sh", SRV)
    net_env(env, br1, pfx1, f"{pfx1}.10", caps=[NET_RAW])
    srv, _ = env.create(["nc", "-l", "-p", "5000", "-e", "/srv.sh"])
    env.start(srv)
    net_env(env, br2, pfx2, caps=[NET_RAW])
    # keeps br2 (berth removes it with its last container) to look at its rule
    env.create(["sleep", "300"])
    r = env.sh(f"ip -4 -o addr show eth0; ping -c1 -W1 {pfx1}.10 && echo reached; "
               f"echo x | nc -w 1 {pfx1}.10 5000 && echo reached")
    assert f"inet {pfx2}.3/24" in r.out, r
    assert "reached" not in r.out, r
    assert not (env.rootfs / "tmp" / "got-server").exists()
    rules = nft_rules()
    if rules is not None:
        assert f'iifname "{br2}" oifgroup 25204 oifname != "{br2}" drop' in rules, rules


def test_parallel_creates_get_distinct_addresses(env, nets):
    br, pfx = nets.bridge()
    net_env(env, br, pfx)
    env.process["args"] = ["sleep", "30"]
    env.save()
    ids = [env.new_id() for _ in range(20)]
    bgs = [env.popen("create", "-b", env.bundle, cid) for cid in ids]
    for bg in bgs:
        r = bg.wait(timeout=60)
        assert r.rc == 0, r
    addrs = []
    for cid in ids:
        rec = (env.root / cid / "network").read_text()
        m = re.search(r"^address=(\S+)/24$", rec, re.M)
        assert m, rec
        addrs.append(m.group(1))
    assert len(set(addrs)) == 20, sorted(addrs)
    assert all(a.startswith(pfx + ".") and a != f"{pfx}.1" for a in addrs)
    assert len(links_on(br)) == 20
    leases = " ".join(leases_of(env, br)).split()
    assert sorted(leases[0::3]) == sorted(addrs)
    # and the namespaces really have them
    env.start(ids[0])
    pid = env.state(ids[1])["pid"]
    cp = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-4", "-o", "addr", "show",
                         "eth0"], capture_output=True, text=True)
    assert f"inet {addrs[1]}/24" in cp.stdout, cp
    for cid in ids:
        env.delete(cid, force=True)
    assert wait_links_gone(br) == []


def test_create_delete_cycles_leave_nothing(env, nets):
    br, pfx = nets.bridge()
    net_env(env, br, pfx)
    env.save()
    before = set(all_berth_veths())
    for i in range(100):
        cid = env.new_id()
        r = env.berth("create", "-b", env.bundle, cid)
        assert r.rc == 0, r
        host_if = re.search(r"^host_if=(\S+)$", (env.root / cid / "network").read_text(), re.M)
        assert host_if.group(1) in "".join(links_on(br))
        r = env.berth("delete", "--force", cid)
        assert r.rc == 0, r
    assert wait_links_gone(br) == []
    deadline = time.monotonic() + 5
    while not set(all_berth_veths()) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert set(all_berth_veths()) <= before
    assert leases_of(env, br) == []
    assert env.container_ids() == []


def test_address_taken(env, nets):
    br, pfx = nets.bridge()
    net_env(env, br, pfx, f"{pfx}.20/24")
    first, _ = env.create(["sleep", "30"])
    r = env.berth("create", "-b", env.bundle, "second")
    assert r.rc != 0
    assert r.err_lines[-1] == (f'berth: create "second": network: address "{pfx}.20" is '
                               f'already in use by container "{first}"'), r
    assert env.container_ids() == [first]
    assert len(links_on(br)) == 1
    # the gateway's address is taken too
    net_env(env, br, pfx, f"{pfx}.1")
    r = env.create(check=False)[1]
    assert r.rc != 0 and "is the gateway's" in r.err, r
    assert len(links_on(br)) == 1


@pytest.mark.parametrize("key,value,msg", [
    ("subnet", "10.231.0.0/33", "is not a CIDR"),
    ("address", "10.231.0.300", "is not an address"),
    ("address6", "fd00::zz", "is not an address"),
    ("mac", "01:00:00:00:00:01", "is not a unicast MAC address"),
    ("mtu", "20", "is not an MTU"),
    ("color", "blue", "unknown berth.net setting"),
    ("nat", "yes", "is not true or false"),
    ("ports", "8080", 'is not HOSTPORT:PORT[/tcp|/udp]'),
    ("ports", "8080:80/sctp", 'is not HOSTPORT:PORT[/tcp|/udp]'),
    ("ports", "70000:80", 'is not HOSTPORT:PORT[/tcp|/udp]'),
])
def test_bad_settings(env, nets, key, value, msg):
    br, pfx = nets.bridge()
    net_env(env, br, pfx)
    env.cfg["annotations"][f"berth.net.{key}"] = value
    r = env.create(check=False)[1]
    assert r.rc != 0
    assert f'config.json: annotations["berth.net.{key}"]: ' in r.err, r
    assert msg in r.err, r
    assert env.container_ids() == []
    assert ip("link", "show", br, check=False).returncode != 0, "bridge made anyway"


def test_bridge_name_too_long(env, nets):
    net_env(env, "b" * 16, "10.232.0")
    r = env.create(check=False)[1]
    assert r.rc != 0
    assert ('config.json: annotations["berth.net.bridge"]: interface name '
            f'"{"b" * 16}" is longer than 15 bytes') in r.err, r
    assert env.container_ids() == []


def test_needs_new_network_namespace(env, nets):
    br, pfx = nets.bridge()
    net_env(env, br, pfx)
    env.remove_ns("network")
    env.remove_mount("/sys")
    r = env.create(check=False)[1]
    assert r.rc != 0 and "needs a new network namespace" in r.err, r
    assert env.container_ids() == []


def test_failure_after_network_rolls_back(env, nets):
    br, pfx = nets.bridge()
    net_env(env, br, pfx)
    env.process["cwd"] = "/does/not/exist"
    env.process["args"] = ["/does/not/exist"]
    r = env.create(check=False)[1]
    assert r.rc != 0, r
    assert env.container_ids() == []
    assert wait_links_gone(br) == []
    assert leases_of(env, br) == []


def test_mac_mtu_ipv6(env, nets):
    br, pfx = nets.bridge()
    six = f"fd00:{random.randint(0x200, 0x2ff):x}:{random.randint(0, 0xffff):x}"
    net_env(env, br, pfx, mac="02:42:ac:11:00:99", mtu="1400", subnet6=f"{six}::/64",
            address6=f"{six}::99")
    r = env.sh("ip -o link show eth0; ip -6 -o addr show eth0 scope global; ip -6 route; "
               "ip -o link show lo")
    assert r.rc == 0, r
    assert "02:42:ac:11:00:99" in r.out
    assert "mtu 1400" in r.out
    assert f"inet6 {six}::99/64" in r.out
    assert f"default via {six}::1 dev eth0" in r.out
    assert re.search(r"lo: <LOOPBACK,UP", r.out), r.out


def test_net_devices_move_and_return(env, nets):
    host = f"{TOKEN}d"[:15]
    peer = f"{TOKEN}p"[:15]
    ip("link", "add", host, "type", "veth", "peer", "name", peer)
    nets.host_links += [host, peer]
    env.set_ns("network")
    env.linux["netDevices"] = {host: {"name": "ext0"}}
    cid, _ = env.create(["sh", "-c", "ip -o link show ext0 > /tmp/seen; sleep 30"])
    assert ip("link", "show", host, check=False).returncode != 0, "still on the host"
    env.start(cid)
    seen = env.rootfs / "tmp" / "seen"
    deadline = time.monotonic() + 10
    while not (seen.exists() and seen.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "ext0" in seen.read_text()
    env.delete(cid, force=True)
    # back on the host under its own name
    assert ip("link", "show", host, check=False).returncode == 0
    # (a virtual device is destroyed with the namespace when the container exits by itself;
    # only physical ones come back from a dead namespace, which a test cannot make)


def test_no_network_costs_nothing(env):
    """Without berth.net.* berth never runs its helper (no state file, no leases)."""
    cid, _ = env.create()
    assert not (env.root / cid / "network").exists()
    assert not (env.root / ".net").exists()


def nft_rules():
    if not shutil.which("nft"):
        return None
    return subprocess.run(["nft", "list", "table", "ip", "berth"], capture_output=True,
                          text=True).stdout


def talk(addr, port, text, timeout=5.0):
    """Connect (retrying while the server starts), send a line, return the reply."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((addr, port), timeout=2) as s:
                s.sendall(text.encode() + b"\n")
                s.shutdown(socket.SHUT_WR)
                return s.makefile().read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_published_port_reachable_from_host(env, nets):
    br, pfx = nets.bridge()
    port = random.randint(20000, 29999)
    env.write_rootfs("/srv.sh", SRV)
    net_env(env, br, pfx, f"{pfx}.30", ports=f"{port}:80/tcp")
    env.cfg["hostname"] = "published"
    cid, _ = env.create(["nc", "-l", "-p", "80", "-e", "/srv.sh"])
    env.start(cid)
    # the host reaches it at one of its own addresses: the bridge's
    assert talk(f"{pfx}.1", port, "hi") == "pong hi\n"
    assert (env.rootfs / "tmp" / "got-published").read_text() == "hi\n"
    rules = nft_rules()
    if rules is not None:
        assert f"dport {port} fib daddr type local dnat to {pfx}.30:80" in rules
    env.delete(cid, force=True)
    rules = nft_rules()
    if rules is not None:
        assert f"{pfx}.30" not in rules


def test_published_port_taken(env, nets):
    br, pfx = nets.bridge()
    port = random.randint(30000, 39999)
    net_env(env, br, pfx, ports=f"{port}:80,{port}:53/udp")
    first, _ = env.create(["sleep", "30"])
    net_env(env, br, pfx, ports=f"{port + 1}:81,{port}:80")
    r = env.berth("create", "-b", env.bundle, "second")
    assert r.rc != 0
    assert f'port {port}/tcp is already published by container "{first}"' in r.err, r
    assert env.container_ids() == [first]
    assert len(links_on(br)) == 1
    rules = nft_rules()
    if rules is not None:
        assert f"dport {port + 1}" not in rules
        assert rules.count(f"dport {port} ") == 4  # tcp and udp, prerouting and output


def test_nat_rule_added_and_removed(env, nets):
    br, pfx = nets.bridge()
    net_env(env, br, pfx, f"{pfx}.40", nat="true")
    cid, _ = env.create(["sleep", "30"])
    rules = nft_rules()
    if rules is None:
        pytest.skip("nft is not installed to look at the ruleset")
    assert f'ip saddr {pfx}.40 oifname != "{br}" masquerade' in rules
    env.delete(cid, force=True)
    assert f"{pfx}.40" not in nft_rules()


def test_parallel_creates_after_crashed_holders(env, nets):
    """A lease is held from create to delete, whatever became of the init: containers
    created next to ones whose init was killed never share an address with them or
    with each other (there was a time a dead holder's line hid a live one's)."""
    br, pfx = nets.bridge()
    net_env(env, br, pfx)
    env.process["args"] = ["sleep", "300"]
    env.save()
    live, dead = [], []
    for _ in range(3):
        a, _ = env.create()
        kill_init(env, a)
        dead.append(a)
        ids = [env.new_id(), env.new_id()]
        bgs = [env.popen("create", "-b", env.bundle, cid) for cid in ids]
        for bg in bgs:
            r = bg.wait(timeout=60)
            assert r.rc == 0, r
        live += ids
        seen = {cid: container_addr(env, cid) for cid in live}
        assert len(set(seen.values())) == len(live), seen
        lines = leases_of(env, br)
        addrs = [l.split()[0] for l in lines]
        assert len(addrs) == len(set(addrs)), lines  # one line per address
        assert set(seen.values()) <= set(addrs), lines
    for cid in dead + live:
        env.delete(cid, force=True)
    assert leases_of(env, br) == []
    assert wait_links_gone(br) == []


def test_delete_after_init_killed_releases_everything(env, nets):
    br, pfx = nets.bridge()
    port = random.randint(40000, 44999)
    net_env(env, br, pfx, f"{pfx}.50", nat="true", ports=f"{port}:80")
    cid, _ = env.create(["sleep", "300"])
    hif = host_if_of(env, cid)
    assert ip("link", "show", hif, check=False).returncode == 0
    kill_init(env, cid)
    assert leases_of(env, br) == [f"{pfx}.50 {cid} {hif}"]
    env.delete(cid)
    assert leases_of(env, br) == []
    assert ip("link", "show", hif, check=False).returncode != 0
    rules = nft_rules()
    if rules is not None:
        assert f"{pfx}.50" not in rules and br not in rules and f"dport {port}" not in rules, rules
    # the bridge berth made went with its last container
    assert ip("link", "show", br, check=False).returncode != 0


@pytest.mark.parametrize("how", ["owner", "mode", "dir", "symlink"])
def test_untrusted_lease_file_is_refused(env, nets, how):
    """berth reads back only a lease file it could have written: root's, in root's
    directory, writable by no one else, not a symlink."""
    br, pfx = nets.bridge()
    net_env(env, br, pfx)
    first, _ = env.create(["sleep", "300"])
    f = env.root / ".net" / f"{br}.leases"
    real = f.with_name("elsewhere")
    before = f.read_text()
    if how == "owner":
        os.chown(f, 65534, 65534)
    elif how == "mode":
        os.chmod(f, 0o666)
    elif how == "dir":
        os.chmod(f.parent, 0o777)
    else:
        f.rename(real)
        f.symlink_to(real.name)
    try:
        r = env.create(check=False)[1]
        assert r.rc != 0, r
        what = f.parent if how == "dir" else f
        assert f'network: {"lease dir" if how == "dir" else "lease file"} "{what}"' in r.err, r
        assert "refusing it" in r.err, r
        assert (real if how == "symlink" else f).read_text() == before
        assert env.container_ids() == [first]
        assert len(links_on(br)) == 1
    finally:
        if how == "symlink":
            f.unlink()
            real.rename(f)
        os.chown(f, 0, 0)
        os.chmod(f, 0o600)
        os.chmod(f.parent, 0o700)
    env.delete(first, force=True)
    assert leases_of(env, br) == []


@pytest.mark.parametrize("how", ["mode", "symlink"])
def test_untrusted_record_is_refused(env, nets, how):
    """berth-net, the only reader of <state>/network, reads it back only as it wrote it:
    from a record others may write, or a symlink, delete releases nothing and says why."""
    br, pfx = nets.bridge()
    net_env(env, br, pfx)
    cid, _ = env.create(["sleep", "300"])
    rec = env.root / cid / "network"
    host_if = re.search(r"^host_if=(bv\S+)$", rec.read_text(), re.M).group(1)
    if how == "mode":
        os.chmod(rec, 0o666)
        why = "is writable by group or others (mode 0666)"
    else:
        rec.rename(rec.with_name("elsewhere"))
        rec.symlink_to("elsewhere")
        why = "is not a regular file"
    r = env.berth("delete", "--force", cid)
    # delete goes on (the container is gone) and warns with the cause
    assert r.rc == 0 and env.container_ids() == [], r
    assert f'delete "{cid}": network: "network" {why}' in r.err, r
    # (the veth went with the namespace) its lease was not released from that record
    assert any(cid in l for l in leases_of(env, br)), leases_of(env, br)
    # without its host end and state dir the lease is dead: the next container drops it
    ip("link", "del", host_if, check=False)
    other, _ = env.create()
    env.delete(other, force=True)
    assert leases_of(env, br) == []
    assert wait_links_gone(br) == []


def test_helper_crash_leaves_nothing(env, nets, monkeypatch):
    """berth-net killed after it made everything, before it could report: create
    fails and its rollback removes the lease, the veth and the nftables rules."""
    br, pfx = nets.bridge()
    port = random.randint(45000, 49999)
    net_env(env, br, pfx, nat="true", ports=f"{port}:80")
    real = os.path.join(os.path.dirname(BERTH), "berth-net")
    wrapper = env.write_rootfs("/crashing-berth-net",
                               f'#!/bin/sh\n"{real}" >/dev/null\nkill -9 $$\n')
    monkeypatch.setenv("BERTH_NET_HELPER", str(wrapper))
    cid = env.new_id()
    r = env.create(id=cid, check=False)[1]
    assert r.rc != 0, r
    # one line that says how the helper ended
    assert f'create "{cid}": network: berth-net was killed by signal 9' in r.err, r
    assert env.container_ids() == []
    assert leases_of(env, br) == []
    assert ip("link", "show", br, check=False).returncode != 0
    rules = nft_rules()
    if rules is not None:
        assert br not in rules and f"dport {port}" not in rules, rules


def test_helper_silent_failure_says_why(env, nets, monkeypatch):
    """berth-net that ends without a word on its socket (a crash, a sanitizer
    report, a broken install): the error names its exit status and the last line
    it wrote on stderr, on one line."""
    br, pfx = nets.bridge()
    net_env(env, br, pfx)
    wrapper = env.write_rootfs("/broken-berth-net",
                               "#!/bin/sh\necho 'first line' >&2\n"
                               "printf 'berth-net: the cause\\n\\n' >&2\nexit 3\n")
    monkeypatch.setenv("BERTH_NET_HELPER", str(wrapper))
    cid = env.new_id()
    r = env.create(id=cid, check=False)[1]
    assert r.rc != 0, r
    assert (f'create "{cid}": network: berth-net exited with status 3: '
            "berth-net: the cause") in r.err, r
    assert len(r.err.strip().splitlines()) == 1, r
    assert env.container_ids() == []
    assert leases_of(env, br) == []



@pytest.mark.skipif(not shutil.which("strace") or not shutil.which("nft"),
                    reason="needs strace and nft")
def test_rule_gone_before_the_delete_commits(env, nets):
    """Another berth-net may drop a rule between our dump and our commit: a create on
    another bridge drops the isolation rules of bridges that are gone, and the delete
    of a bridge's last container removes the bridge first, then its rule. A rule
    that is already gone is no failure (the delete used to say "nftables: delete the
    rules of ...: No such file or directory")."""
    br, pfx = nets.bridge()
    net_env(env, br, pfx)
    cid, _ = env.create(["sleep", "300"])
    rules = subprocess.run(["nft", "-a", "list", "chain", "ip", "berth", "forward"],
                           capture_output=True, text=True).stdout
    handle = re.search(rf'iifname "{br}" .* # handle (\d+)', rules)
    assert handle, rules
    # every netlink send of the delete waits 1 s before it goes: the rule is
    # deleted behind its back after the bridge is gone and the dump is done, in
    # the wait before the commit
    argv = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=sendto", "-e",
            "inject=sendto:delay_enter=1000000", BERTH, "--root", str(env.root), "delete",
            "--force", cid]
    with tempfile.TemporaryFile("w+") as fe:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=fe, env=traced_env(env.mark))
        try:
            deadline = time.monotonic() + 60
            while ip("link", "show", br, check=False).returncode == 0:
                assert time.monotonic() < deadline, "the bridge did not go"
                time.sleep(0.05)
            time.sleep(1.5)
            subprocess.run(["nft", "delete", "rule", "ip", "berth", "forward", "handle",
                            handle.group(1)], check=True)
            rc = p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        fe.seek(0)
        err = fe.read()
    assert rc == 0 and err == "", err
    assert not (env.root / cid).exists()
