#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth's CRI test client: does what kubelet would do for each scenario, over
containerd's CRI socket (k8s.io runtime.v1, messages compiled by protoc from
tests/cri/runtime-v1.proto at test time, calls made with grpc's generic unary
callables), once with each runtime handler (runc, the reference, and berth).
A scenario fails when runc passes it and berth does not; it is skipped when runc
fails it too (the environment, not berth). One line per scenario on stderr, the
total last on stdout: N passed, N failed, N skipped.

Run by tests/cri/cri.sh inside the test's namespaces, which sets CRI_SOCK, CRI_WORK
(the temporary directory), CRI_CGROUP (the top cgroup the pods go under),
BUSYBOX_IMAGE, CRI_SUBNET_GW and ONLY (a regex of scenario names)."""

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
import traceback

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.environ["CRI_WORK"]
SOCK = os.environ["CRI_SOCK"]
CGROUP = os.environ["CRI_CGROUP"]
IMAGE = os.environ["BUSYBOX_IMAGE"]
GATEWAY = os.environ["CRI_SUBNET_GW"]
HANDLERS = ("runc", "berth")
# the runtimes' --root as the shim passes it: Root from containerd's config, then
# the containerd namespace of the CRI
ROOTS = {h: os.path.join(WORK, h + "-root", "k8s.io") for h in HANDLERS}


def load_messages():
    out = os.path.join(WORK, "pb")
    os.makedirs(out, exist_ok=True)
    subprocess.run(["protoc", "-I", HERE, "--python_out", out,
                    os.path.join(HERE, "runtime-v1.proto")], check=True)
    sys.path.insert(0, out)
    import runtime_v1_pb2  # noqa: E402 (generated just above)
    return runtime_v1_pb2


pb = load_messages()


class Skip(Exception):
    pass


class Cri:
    """One channel to containerd; call("Method", field=value...) sends
    MethodRequest and returns MethodResponse."""

    IMAGE_METHODS = {"ImageStatus"}

    def __init__(self, sock):
        self.channel = grpc.insecure_channel("unix://" + sock)

    def call(self, method, request=None, timeout=60, **fields):
        req_cls = getattr(pb, method + "Request")
        resp_cls = getattr(pb, method + "Response")
        service = "ImageService" if method in self.IMAGE_METHODS else "RuntimeService"
        fn = self.channel.unary_unary(f"/runtime.v1.{service}/{method}",
                                      request_serializer=req_cls.SerializeToString,
                                      response_deserializer=resp_cls.FromString)
        return fn(request if request is not None else req_cls(**fields), timeout=timeout)


cri = Cri(SOCK)
_serial = 0


def expect(what, got, want):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def expect_in(what, needle, hay):
    if needle not in hay:
        raise AssertionError(f"{what}: {needle!r} not in {hay!r}")


def wait_for(what, fn, seconds=20):
    end = time.monotonic() + seconds
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def host_cgroup_file(pid, controller, name):
    """The content of cgroup v1 file NAME of CONTROLLER for PID, read on the host."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(","):
                for base in (f"/sys/fs/cgroup/{controller}", f"/sys/fs/cgroup/{ctrls}"):
                    p = f"{base}{path}/{name}"
                    if os.path.exists(p):
                        with open(p) as c:
                            return c.read().strip()
    raise AssertionError(f"no {controller}/{name} for pid {pid}")


def veths():
    out = subprocess.run(["ip", "-o", "link", "show", "type", "veth"],
                         capture_output=True, text=True, check=True).stdout
    return sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines())


def mounts_naming(ids):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if any(i in line for i in ids)]


class Pod:
    """A pod sandbox run with HANDLER; containers made in it with run()."""

    def __init__(self, handler, name, privileged=False, dns=True):
        global _serial
        _serial += 1
        self.handler = handler
        self.uid = f"{name}-{handler}-{os.getpid()}-{_serial}"
        self.logdir = os.path.join(WORK, "pods", self.uid)
        os.makedirs(self.logdir)
        linux = pb.LinuxPodSandboxConfig(cgroup_parent=f"/{CGROUP}/{self.uid}")
        # as kubelet: one PID namespace per container (the CRI's default is the pod's)
        linux.security_context.namespace_options.pid = pb.CONTAINER
        if privileged:
            linux.security_context.privileged = True
        self.config = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=self.uid, namespace="berth-cri"),
            hostname=name, log_directory=self.logdir, linux=linux)
        if dns:
            self.config.dns_config.servers.append(GATEWAY)
            self.config.dns_config.searches.append("berth.test")
        self.id = cri.call("RunPodSandbox", config=self.config,
                           runtime_handler=handler, timeout=120).pod_sandbox_id
        self.containers = []

    def status(self, verbose=False):
        return cri.call("PodSandboxStatus", pod_sandbox_id=self.id, verbose=verbose)

    def ip(self):
        return self.status().status.network.ip

    def run(self, name, args, wait=True, linux=None, mounts=(), tty=False, stdin=False):
        """Create and start a container; with WAIT, return once its command runs
        (state RUNNING or already EXITED)."""
        cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name),
                                 image=pb.ImageSpec(image=IMAGE), command=args,
                                 log_path=f"{name}.log", tty=tty, stdin=stdin,
                                 mounts=list(mounts))
        if linux is not None:
            cfg.linux.CopyFrom(linux)
        cfg.linux.security_context.namespace_options.pid = pb.CONTAINER
        cid = cri.call("CreateContainer", pod_sandbox_id=self.id, config=cfg,
                       sandbox_config=self.config, timeout=120).container_id
        self.containers.append(cid)
        cri.call("StartContainer", container_id=cid, timeout=120)
        if wait:
            wait_for(f"{name} running", lambda: container_state(cid) != pb.CONTAINER_CREATED)
        return cid

    def remove(self):
        cri.call("StopPodSandbox", pod_sandbox_id=self.id, timeout=120)
        cri.call("RemovePodSandbox", pod_sandbox_id=self.id, timeout=120)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # a failed StopPodSandbox or RemovePodSandbox fails the scenario, unless it
        # has already failed
        try:
            self.remove()
        except grpc.RpcError as e:
            if exc_type is None:
                raise
            print(f"cleanup of pod {self.id}: {e.details()}", file=sys.stderr)


def container_status(cid, verbose=False):
    return cri.call("ContainerStatus", container_id=cid, verbose=verbose)


def container_state(cid):
    return container_status(cid).status.state


def container_pid(cid):
    return json.loads(container_status(cid, verbose=True).info["info"])["pid"]


def exec_sync(cid, *cmd, timeout=30):
    r = cri.call("ExecSync", container_id=cid, cmd=list(cmd), timeout=timeout + 30)
    return r.exit_code, r.stdout.decode(), r.stderr.decode()


def sh(cid, script):
    """stdout of `sh -c SCRIPT` in CID; fails the scenario on a non-zero exit"""
    rc, out, err = exec_sync(cid, "sh", "-c", script)
    if rc != 0:
        raise AssertionError(f"sh -c {script!r}: exit {rc}, stderr {err!r}")
    return out


SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]


# -- scenarios: each takes the handler, raises AssertionError (fail) or Skip


def s_pod_shared_namespaces(handler):
    with Pod(handler, "shared") as pod:
        web = pod.run("web", ["sh", "-c", "mkdir -p /www && echo hello-from-pod >/www/index.html"
                              " && exec httpd -f -p 8080 -h /www"])
        client = pod.run("client", SLEEPER)
        out = wait_for("httpd on localhost", lambda: exec_sync(
            client, "wget", "-q", "-O", "-", "http://127.0.0.1:8080/")[1])
        expect("page fetched on localhost", out, "hello-from-pod\n")
        for ns in ("net", "ipc", "uts"):
            a = sh(web, f"readlink /proc/self/ns/{ns}")
            b = sh(client, f"readlink /proc/self/ns/{ns}")
            expect(f"{ns} namespace shared", a, b)
            if a == os.readlink(f"/proc/self/ns/{ns}") + "\n":
                raise AssertionError(f"{ns} namespace is the host's")
        expect("hostname", sh(client, "hostname"), "shared\n")
        # the pod's own PID namespace per container (kubelet's default is CONTAINER)
        expect("pid 1 of the client", sh(client, "cat /proc/1/cmdline | tr '\\0' ' '"),
               " ".join(SLEEPER) + " ")


def s_pod_ip_from_host(handler):
    with Pod(handler, "podip") as pod:
        pod.run("web", ["sh", "-c", "mkdir -p /www && echo pod-ip-ok >/www/index.html"
                        " && exec httpd -f -p 8080 -h /www"])
        ip = pod.ip()
        if not re.match(r"^\d+\.\d+\.\d+\.\d+$", ip):
            raise AssertionError(f"no pod IP: {ip!r}")

        def fetch():
            try:
                with socket.create_connection((ip, 8080), timeout=2) as s:
                    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    data = b""
                    while chunk := s.recv(4096):
                        data += chunk
                    return data.decode()
            except OSError:
                return ""

        expect_in("page from the host side of the bridge", "pod-ip-ok",
                  wait_for(f"httpd at {ip}:8080", fetch))


def s_exec_sync(handler):
    with Pod(handler, "execsync") as pod:
        c = pod.run("app", SLEEPER)
        rc, out, err = exec_sync(c, "sh", "-c", "echo out-$((6*7)); echo err >&2; exit 3")
        expect("exit code", rc, 3)
        expect("stdout", out, "out-42\n")
        expect("stderr", err, "err\n")
        rc, out, _ = exec_sync(c, "true")
        expect("exit code of true", rc, 0)
        # a missing binary: containerd answers with an error (both runtimes fail the exec)
        try:
            rc, _, _ = exec_sync(c, "/nonexistent")
        except grpc.RpcError as e:
            expect_in("error of a missing binary", "no such file or directory", e.details())
        else:
            raise AssertionError(f"exec of a missing binary: exit {rc}, no error")


def s_container_status(handler):
    with Pod(handler, "status") as pod:
        c = pod.run("app", ["sh", "-c", "sleep 0.5; exit 5"])
        st = container_status(c).status
        expect("state while running", st.state, pb.CONTAINER_RUNNING)
        if st.started_at <= 0 or st.created_at <= 0:
            raise AssertionError(f"no times: created {st.created_at} started {st.started_at}")
        wait_for("exit", lambda: container_state(c) == pb.CONTAINER_EXITED)
        st = container_status(c).status
        expect("exit code", st.exit_code, 5)
        expect("reason", st.reason, "Error")
        if st.finished_at < st.started_at:
            raise AssertionError("finished before it started")


def s_container_stats(handler):
    with Pod(handler, "stats") as pod:
        c = pod.run("app", ["sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done;"
                            " dd if=/dev/zero bs=1M count=8 2>/dev/null | cat >/tmp/f; sleep 1000"])
        time.sleep(1)
        s = cri.call("ContainerStats", container_id=c).stats
        expect("stats id", s.attributes.id, c)
        if s.cpu.usage_core_nano_seconds.value <= 0:
            raise AssertionError(f"cpu usage: {s.cpu}")
        if s.memory.usage_bytes.value <= 0 or s.memory.working_set_bytes.value <= 0:
            raise AssertionError(f"memory usage: {s.memory}")


def s_container_log(handler):
    with Pod(handler, "log") as pod:
        c = pod.run("app", ["sh", "-c", "echo line-one; echo line-two >&2; printf partial"])
        wait_for("exit", lambda: container_state(c) == pb.CONTAINER_EXITED)
        path = container_status(c).status.log_path
        expect("log path", path, os.path.join(pod.logdir, "app.log"))
        with open(path) as f:
            lines = f.read().splitlines()
        got = []
        for line in lines:
            m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)) "
                         r"(stdout|stderr) ([PF]) (.*)$", line)
            if not m:
                raise AssertionError(f"not a CRI log line: {line!r}")
            got.append((m.group(4), m.group(5), m.group(6)))
        for want in (("stdout", "F", "line-one"), ("stderr", "F", "line-two"),
                     ("stdout", "P", "partial")):
            expect_in("log", want, got)


def s_update_resources(handler):
    with Pod(handler, "update") as pod:
        c = pod.run("app", SLEEPER)
        pid = container_pid(c)
        cri.call("UpdateContainerResources", container_id=c, linux=pb.LinuxContainerResources(
            cpu_period=100000, cpu_quota=50000, cpu_shares=512,
            memory_limit_in_bytes=96 << 20))
        expect("cpu.cfs_quota_us", host_cgroup_file(pid, "cpu", "cpu.cfs_quota_us"), "50000")
        expect("cpu.cfs_period_us", host_cgroup_file(pid, "cpu", "cpu.cfs_period_us"), "100000")
        expect("cpu.shares", host_cgroup_file(pid, "cpu", "cpu.shares"), "512")
        expect("memory.limit_in_bytes",
               host_cgroup_file(pid, "memory", "memory.limit_in_bytes"), str(96 << 20))
        res = container_status(c).status.resources.linux
        expect("status memory limit", res.memory_limit_in_bytes, 96 << 20)


def s_stop_remove_leaves_nothing(handler):
    before = veths()
    pod = Pod(handler, "leaves")
    ids = [pod.id, pod.run("a", SLEEPER), pod.run("b", SLEEPER)]
    info = json.loads(pod.status(verbose=True).info["info"])
    netns = [ns["path"] for ns in info["runtimeSpec"]["linux"]["namespaces"]
             if ns["type"] == "network"][0]
    if not os.path.exists(netns):
        raise AssertionError(f"no pod netns at {netns}")
    if veths() == before:
        raise AssertionError("no veth for the pod")
    if not [e for e in os.listdir(ROOTS[handler]) if e in ids]:
        raise AssertionError(f"nothing under {ROOTS[handler]} while the pod runs")
    cri.call("StopPodSandbox", pod_sandbox_id=pod.id, timeout=120)
    for cid in ids[1:]:
        expect(f"state of {cid[:12]} after StopPodSandbox", container_state(cid),
               pb.CONTAINER_EXITED)
    cri.call("RemovePodSandbox", pod_sandbox_id=pod.id, timeout=120)
    left = []
    if os.path.exists(netns):
        left.append(f"netns {netns}")
    if veths() != before:
        left.append(f"veths {sorted(set(veths()) - set(before))}")
    left += [f"mount {m}" for m in mounts_naming(ids) + mounts_naming([netns])]
    left += [f"{ROOTS[handler]}/{e}" for e in os.listdir(ROOTS[handler]) if e in ids]
    for base in os.listdir("/sys/fs/cgroup"):
        d = f"/sys/fs/cgroup/{base}/{CGROUP}/{pod.uid}"
        if os.path.isdir(d):
            left += [f"cgroup {d}/{e}" for e in os.listdir(d) if os.path.isdir(f"{d}/{e}")]
    shims = subprocess.run(["pgrep", "-f", f"containerd-shim-runc-v2 .*-id {pod.id}"],
                           capture_output=True, text=True).stdout.split()
    left += [f"shim pid {p}" for p in shims]
    if left:
        raise AssertionError("left behind: " + ", ".join(left))


def s_oom_killed(handler):
    with Pod(handler, "oom") as pod:
        lin = pb.LinuxContainerConfig(resources=pb.LinuxContainerResources(
            memory_limit_in_bytes=32 << 20))
        c = pod.run("hog", ["sh", "-c", "exec dd if=/dev/zero of=/dev/null bs=256M count=1"],
                    linux=lin)
        wait_for("exit", lambda: container_state(c) == pb.CONTAINER_EXITED)
        st = container_status(c).status
        expect("exit code", st.exit_code, 137)
        expect("reason", st.reason, "OOMKilled")


def s_readonly_rootfs(handler):
    with Pod(handler, "rofs") as pod:
        lin = pb.LinuxContainerConfig()
        lin.security_context.readonly_rootfs = True
        c = pod.run("app", SLEEPER, linux=lin)
        rc, _, err = exec_sync(c, "touch", "/etc/x")
        if rc == 0:
            raise AssertionError("wrote to a read-only root")
        expect_in("error", "Read-only file system", err)


def s_run_as_user(handler):
    with Pod(handler, "user") as pod:
        lin = pb.LinuxContainerConfig()
        lin.security_context.run_as_user.value = 1000
        lin.security_context.run_as_group.value = 1001
        c = pod.run("app", SLEEPER, linux=lin)
        expect("init ids", sh(c, "echo $(id -u) $(id -g)"), "1000 1001\n")
        expect("status of pid 1", sh(c, "grep -E '^(Uid|Gid):' /proc/1/status | "
                                        "awk '{print $2}' | tr '\\n' ' '"), "1000 1001 ")


def cap_eff(cid, pid="self"):
    return int(sh(cid, f"grep CapEff /proc/{pid}/status").split()[1], 16)


def s_capabilities(handler):
    with Pod(handler, "caps") as pod:
        lin = pb.LinuxContainerConfig()
        lin.security_context.capabilities.add_capabilities.append("SYS_ADMIN")
        lin.security_context.capabilities.drop_capabilities.append("CHOWN")
        c = pod.run("app", SLEEPER, linux=lin)
        eff = cap_eff(c, 1)
        if not eff >> 21 & 1:
            raise AssertionError(f"CAP_SYS_ADMIN not added: {eff:#x}")
        if eff & 1:
            raise AssertionError(f"CAP_CHOWN not dropped: {eff:#x}")
        rc, _, _ = exec_sync(c, "chown", "1000", "/tmp")
        if rc == 0:
            raise AssertionError("chown worked without CAP_CHOWN")


def s_privileged(handler):
    with Pod(handler, "priv", privileged=True) as pod:
        lin = pb.LinuxContainerConfig()
        lin.security_context.privileged = True
        c = pod.run("app", SLEEPER, linux=lin)
        with open("/proc/self/status") as f:
            host = int([ln for ln in f if ln.startswith("CapBnd")][0].split()[1], 16)
        expect("CapEff", cap_eff(c, 1), host)
        expect("seccomp mode", sh(c, "grep Seccomp: /proc/1/status | awk '{print $2}'"), "0\n")
        # the CRI says privileged mounts sysfs read-write and containerd's spec asks
        # for rw; runc 1.1.5 mounts it read-only in a pod's network namespace
        if "rw" not in sh(c, "awk '$2 == \"/sys\" {print $4}' /proc/mounts").split(","):
            raise AssertionError("/sys is not read-write")
        sh(c, "test -c /dev/kmsg || test -c /dev/mem || test -e /dev/loop-control")


def s_seccomp_runtime_default(handler):
    with Pod(handler, "seccomp") as pod:
        lin = pb.LinuxContainerConfig()
        lin.security_context.seccomp.profile_type = pb.SecurityProfile.RuntimeDefault
        c = pod.run("app", SLEEPER, linux=lin)
        expect("seccomp mode", sh(c, "grep Seccomp: /proc/1/status | awk '{print $2}'"), "2\n")
        # unshare(CLONE_NEWUSER) is refused by the default profile without CAP_SYS_ADMIN
        rc, _, _ = exec_sync(c, "unshare", "-U", "true")
        if rc == 0:
            raise AssertionError("unshare -U allowed under RuntimeDefault")


def s_host_path(handler):
    src = os.path.join(WORK, f"hostpath-{handler}-{os.getpid()}")
    os.makedirs(src)
    with open(os.path.join(src, "from-host"), "w") as f:
        f.write("host-data\n")
    with Pod(handler, "hostpath") as pod:
        c = pod.run("app", SLEEPER, mounts=[
            pb.Mount(container_path="/data", host_path=src),
            pb.Mount(container_path="/ro", host_path=src, readonly=True)])
        expect("read", sh(c, "cat /data/from-host"), "host-data\n")
        sh(c, "echo from-container >/data/back")
        with open(os.path.join(src, "back")) as f:
            expect("written back", f.read(), "from-container\n")
        rc, _, err = exec_sync(c, "touch", "/ro/x")
        if rc == 0:
            raise AssertionError("wrote to a read-only hostPath")


def s_etc_files(handler):
    with Pod(handler, "etcfiles") as pod:
        c = pod.run("app", SLEEPER)
        resolv = sh(c, "cat /etc/resolv.conf")
        expect_in("resolv.conf", f"nameserver {GATEWAY}", resolv)
        expect_in("resolv.conf", "search berth.test", resolv)
        expect("hostname", sh(c, "cat /etc/hostname"), "etcfiles\n")
        with open("/etc/hosts") as f:
            host_hosts = f.read()
        expect_in("/etc/hosts", host_hosts.strip().splitlines()[0], sh(c, "cat /etc/hosts"))
        mounted = sh(c, "awk '{print $5}' /proc/self/mountinfo").split()
        for p in ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname"):
            expect_in("bind mounts", p, mounted)


# -- streaming (the URL of Exec/Attach): a websocket client of the
# channel.k8s.io protocol, stdlib only: one byte of channel (0 stdin, 1 stdout,
# 2 stderr, 3 error) before each binary message


class WebSocket:
    def __init__(self, url, protocol="v4.channel.k8s.io"):
        m = re.match(r"^http://([^/:]+):(\d+)(/.*)$", url)
        if not m:
            raise AssertionError(f"streaming URL {url!r}")
        self.sock = socket.create_connection((m.group(1), int(m.group(2))), timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {m.group(3)} HTTP/1.1\r\nHost: {m.group(1)}:{m.group(2)}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise AssertionError(f"no websocket handshake: {head!r}")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise AssertionError(f"websocket handshake: {head.splitlines()[0]!r}")

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def send(self, channel, payload):
        data = bytes([channel]) + payload
        mask = os.urandom(4)
        head = bytes([0x82])
        if len(data) < 126:
            head += bytes([0x80 | len(data)])
        else:
            head += bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv_all(self):
        """{channel: bytes} until the server closes the connection"""
        got = {}
        try:
            while True:
                b0, b1 = self._recv_exact(2)
                n = b1 & 0x7F
                if n == 126:
                    n = int.from_bytes(self._recv_exact(2), "big")
                elif n == 127:
                    n = int.from_bytes(self._recv_exact(8), "big")
                payload = self._recv_exact(n)
                if b0 & 0x0F == 0x8:
                    break
                if b0 & 0x0F in (0x1, 0x2) and payload:
                    got[payload[0]] = got.get(payload[0], b"") + payload[1:]
        except (EOFError, ConnectionResetError):
            pass
        self.sock.close()
        return got


def s_streaming_exec(handler):
    with Pod(handler, "sexec") as pod:
        c = pod.run("app", SLEEPER)
        url = cri.call("Exec", container_id=c, cmd=["sh", "-c", "echo streamed-out;"
                                                     " echo streamed-err >&2; exit 4"],
                       stdout=True, stderr=True).url
        got = WebSocket(url).recv_all()
        expect("stdout", got.get(1, b""), b"streamed-out\n")
        expect("stderr", got.get(2, b""), b"streamed-err\n")
        expect_in("exit status", "exit code 4", got.get(3, b"").decode())


def s_streaming_attach(handler):
    with Pod(handler, "sattach") as pod:
        c = pod.run("app", ["sh", "-c", "read line; echo got-$line; exit 0"], stdin=True)
        url = cri.call("Attach", container_id=c, stdin=True, stdout=True, stderr=True).url
        ws = WebSocket(url)
        ws.send(0, b"typed\n")
        got = ws.recv_all()
        expect("stdout", got.get(1, b""), b"got-typed\n")


SCENARIOS = [
    ("pod-shared-namespaces", s_pod_shared_namespaces),
    ("pod-ip-from-host", s_pod_ip_from_host),
    ("exec-sync", s_exec_sync),
    ("container-status", s_container_status),
    ("container-stats", s_container_stats),
    ("container-log", s_container_log),
    ("update-resources", s_update_resources),
    ("stop-remove-leaves-nothing", s_stop_remove_leaves_nothing),
    ("oom-killed", s_oom_killed),
    ("readonly-rootfs", s_readonly_rootfs),
    ("run-as-user", s_run_as_user),
    ("capabilities", s_capabilities),
    ("privileged", s_privileged),
    ("seccomp-runtime-default", s_seccomp_runtime_default),
    ("host-path", s_host_path),
    ("etc-hosts-resolv", s_etc_files),
    ("streaming-exec", s_streaming_exec),
    ("streaming-attach", s_streaming_attach),
]


def attempt(fn, handler):
    """(verdict, detail): ok, fail or skip"""
    try:
        fn(handler)
        return "ok", ""
    except Skip as e:
        return "skip", str(e)
    except AssertionError as e:
        return "fail", str(e)
    except grpc.RpcError as e:
        return "fail", f"{e.code().name}: {e.details()}"
    except Exception:  # a broken test is a failure too, with its traceback
        return "fail", traceback.format_exc(limit=3)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int([ln for ln in f if ln.startswith("VmRSS:")][0].split()[1])


def runtime_children(shims):
    """the children of SHIMS that run a runtime binary (berth or runc), not a container"""
    binaries = {os.path.realpath(os.environ["BERTH"]), os.path.realpath("/usr/sbin/runc")}
    for shim in shims:
        kids = subprocess.run(["pgrep", "-P", shim], capture_output=True, text=True).stdout
        for pid in kids.split():
            try:
                if os.path.realpath(f"/proc/{pid}/exe") in binaries:
                    yield pid
            except OSError:
                pass


def bench(runs):
    """Pod start latency (RunPodSandbox + CreateContainer + StartContainer until the
    app's command runs) with each handler, RUNS times interleaved; the median, and
    the memory of the per-pod shim and of runtime processes left running."""
    times = {h: [] for h in HANDLERS}
    mem = {}
    for i in range(runs):
        for h in HANDLERS:
            marker = os.path.join(WORK, f"bench-{h}-{i}")
            os.makedirs(marker)
            start = time.monotonic()
            pod = Pod(h, "bench")
            try:
                # the app touches a file on a hostPath: it has run when the file is there
                pod.run("app", ["sh", "-c", "touch /m/up; exec sleep 1000"], wait=False,
                        mounts=[pb.Mount(container_path="/m", host_path=marker)])
                while not os.path.exists(os.path.join(marker, "up")):
                    time.sleep(0.001)
                times[h].append(time.monotonic() - start)
                if i == 0:
                    shim = subprocess.run(["pgrep", "-f", f"containerd-shim-runc-v2 .*-id {pod.id}"],
                                          capture_output=True, text=True).stdout.split()
                    mem[h] = (sum(rss_kib(p) for p in shim),
                              len(list(runtime_children(shim))))
            finally:
                pod.remove()
    for h in HANDLERS:
        t = sorted(times[h])
        print(f"{h:6} pod start median {t[len(t) // 2] * 1000:7.1f} ms  (min {t[0] * 1000:.1f},"
              f" max {t[-1] * 1000:.1f}, n={len(t)});  shim RSS {mem[h][0]} KiB,"
              f" runtime processes left running: {mem[h][1]}")
    b, r = (sorted(times[h])[runs // 2] for h in ("berth", "runc"))
    print(f"berth/runc: {b / r:.2f}")
    return 0


def main():
    if os.environ.get("CRI_MODE") == "bench":
        return bench(int(os.environ.get("CRI_BENCH_RUNS", "20")))
    v = cri.call("Version", version="v1")
    print(f"== {v.runtime_name} {v.runtime_version} (CRI {v.runtime_api_version})",
          file=sys.stderr)
    only = os.environ.get("ONLY", "")
    passed = failed = skipped = 0
    for name, fn in SCENARIOS:
        if only and not re.search(only, name):
            continue
        start = time.monotonic()
        res = {h: attempt(fn, h) for h in HANDLERS}
        rv, bv = res["runc"][0], res["berth"][0]
        took = f"{time.monotonic() - start:.1f}s"
        if bv == "ok":
            passed += 1
            print(f"ok   {name:28} berth=ok runc={rv} ({took})", file=sys.stderr)
        elif rv == "ok":
            failed += 1
            print(f"FAIL {name:28} berth={bv} runc=ok ({took})", file=sys.stderr)
        else:
            skipped += 1
            print(f"skip {name:28} berth={bv} runc={rv}: runc fails it too", file=sys.stderr)
        for h, (verdict, detail) in res.items():
            if verdict != "ok":
                for line in detail.strip().splitlines()[-12:]:
                    print(f"     | {h}: {line}", file=sys.stderr)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
