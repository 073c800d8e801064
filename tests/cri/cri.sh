#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs inside the network and mount namespaces tests/cri/run makes: starts Debian's
# containerd with its CRI plugin, berth (runtime handler "berth") and runc (handler
# "runc") under its runc shim, the CNI bridge in this namespace, all state under a
# temporary directory; builds and imports the sandbox ("pause") image and the busybox
# image; runs the CRI client tests/cri/cri.py; stops containerd by PID and removes
# what is left. The last line on stdout is cri.py's (N passed, N failed, N skipped).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../engines/lib.sh"

WORK=$(mktemp -d /tmp/berth-cri.XXXXXX)
SOCK=$WORK/containerd.sock
CTR=(ctr -a "$SOCK" -n k8s.io)
PAUSE_IMG=localhost/berth-pause:test
BUSYBOX_IMG=localhost/berth-busybox:test
SUBNET=10.250.77
CGROUP=berth-cri-$$
# shellcheck disable=SC2034 # daemon_pid: set and read by containerd_start/stop (lib.sh)
daemon_pid='' netns_tmpfs='' made_run_netns=''

fail_setup() {
	echo "tests/cri: $*" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}

cleanup() {
	# what a broken scenario left running is killed through ctr
	containerd_stop "${CTR[@]}"
	umount_under "$WORK"
	[[ -z $netns_tmpfs ]] || umount -l /run/netns 2>/dev/null
	[[ -z $made_run_netns ]] || rmdir /run/netns 2>/dev/null
	cgroup_cleanup "$CGROUP"
	rm -rf "$WORK"
}
trap cleanup EXIT

# containerd names the pods' network namespaces /run/netns/cni-*: a tmpfs of this
# mount namespace keeps them off the host's /run
[[ -d /run/netns ]] || { mkdir /run/netns && made_run_netns=1; }
mount -t tmpfs -o mode=0755 tmpfs /run/netns && netns_tmpfs=1 || fail_setup "tmpfs on /run/netns"

mkdir -p "$WORK/cni" "$WORK/runc-root" "$WORK/berth-root"
cat >"$WORK/cni/10-berth-cri.conflist" <<CONF
{"cniVersion": "1.0.0", "name": "berth-cri", "plugins": [
  {"type": "bridge", "bridge": "cni-berth0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$WORK/ipam",
            "ranges": [[{"subnet": "$SUBNET.0/24", "gateway": "$SUBNET.1"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}}]}
CONF
cri='plugins."io.containerd.grpc.v1.cri"'
containerd_start "$WORK" <<CONF || fail_setup "containerd did not start"
[$cri]
  sandbox_image = "$PAUSE_IMG"
  stream_server_address = "127.0.0.1"
  stream_server_port = "10010"
  disable_apparmor = true
  # the sandbox's oom_score_adj (-998) is below what this root may set without
  # CAP_SYS_RESOURCE: containerd then keeps it at its own
  restrict_oom_score_adj = true
[$cri.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "$WORK/cni"
[$cri.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[$cri.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[$cri.containerd.runtimes.runc.options]
  BinaryName = "$(command -v runc)"
  Root = "$WORK/runc-root"
[$cri.containerd.runtimes.berth]
  runtime_type = "io.containerd.runc.v2"
[$cri.containerd.runtimes.berth.options]
  BinaryName = "$BERTH"
  Root = "$WORK/berth-root"
CONF

# the sandbox image: one static program that waits for SIGTERM (tests/cri/pause.c)
mkdir -p "$WORK/pause/rootfs"
gcc -static -O2 -o "$WORK/pause/rootfs/pause" "$here/pause.c" || fail_setup "gcc -static pause.c"
tar -C "$WORK/pause/rootfs" --numeric-owner -cf "$WORK/pause/rootfs.tar" .
oci_archive "$WORK/pause" "$WORK/pause/rootfs.tar" "$PAUSE_IMG" '["/pause"]'
mkdir -p "$WORK/busybox"
mk_oci_archive "$WORK/busybox" "$BUSYBOX_IMG"
for img in pause busybox; do
	"${CTR[@]}" image import "$WORK/$img/image.tar" >&2 || fail_setup "ctr image import ($img)"
done

CRI_SOCK=$SOCK CRI_WORK=$WORK CRI_CGROUP=$CGROUP BUSYBOX_IMAGE=$BUSYBOX_IMG \
	CRI_SUBNET_GW=$SUBNET.1 /usr/bin/python3 "$here/cri.py"
rc=$?
if ((rc != 0)) && [[ -n ${CRI_KEEP_LOG:-} ]]; then
	cp "$WORK/containerd.log" "$CRI_KEEP_LOG"
fi
exit $rc
