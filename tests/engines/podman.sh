#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# podman (+ conmon) with berth as its runtime: `podman --runtime $BERTH`, all podman
# state (storage, run root, CNI configs, events) under a temporary directory and a
# private containers.conf; the image is `podman import` of the busybox rootfs.
set -uo pipefail
ENGINE=podman
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dockerlike.sh"

if ! need_pkgs podman conmon containernetworking-plugins tmux curl; then
	echo "tests/engines/podman.sh: apt-get install podman conmon containernetworking-plugins failed" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

WORK=$(mktemp -d /tmp/berth-podman.XXXXXX)
LOGDIR=${LOGDIR:-$WORK/logs}
# conmon writes an "oom" file into its working directory (podman's): keep it in WORK
cd "$WORK" || exit 1
mkdir -p "$LOGDIR" "$WORK/cni"
nproc=$(ulimit -Hu)
((nproc <= 32768)) || nproc=32768
# Root here has no CAP_SYS_RESOURCE: podman's default rlimits (1048576) cannot be set,
# so the private containers.conf asks for this machine's hard limits.
cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$WORK/events.log"
[network]
network_backend = "cni"
network_config_dir = "$WORK/cni"
CONF
export CONTAINERS_CONF=$WORK/containers.conf
E=(podman --root "$WORK/storage" --runroot "$WORK/run" --tmpdir "$WORK/tmp"
	--runtime "$BERTH" --cgroup-manager cgroupfs --storage-driver overlay)
RUN=(run)
RM=(rm -f -t 0)
# On this hybrid host conmon 2.1.6 sees the OOM kill (it writes "oom" into its working
# directory) yet podman 4.3 reports OOMKilled=false, with runc as the runtime too
[[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] ||
	OOM_UNREPORTED="podman 4.3 reports OOMKilled=false on hybrid cgroups (runc: same)"
IMG=localhost/$IMG_TAG:latest

# podman gives the runtime --root /run/<runtime name>, outside $WORK: berth keeps its
# seccomp cache there. Remove it afterwards unless it was there before this run.
[[ -e /run/berth ]] && had_run_berth=1 || had_run_berth=0

cleanup() {
	"${E[@]}" rm -af -t 1 >/dev/null 2>&1
	"${E[@]}" rmi -af >/dev/null 2>&1
	"${E[@]}" system reset -f >/dev/null 2>&1
	tmux_ kill-server 2>/dev/null
	umount_under "$WORK"
	cgroup_cleanup libpod_parent
	rm -rf "$WORK"
	if ((!had_run_berth)); then
		rm -rf /run/berth/.seccomp-cache
		rmdir /run/berth 2>/dev/null
	fi
}
trap cleanup EXIT

mk_rootfs_tar "$WORK"
"${E[@]}" import -q "$WORK/busybox.tar" "$IMG" >/dev/null || {
	echo "podman import failed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}
# podman's stats need cgroup v2 or the v1 controllers of the container (cgroupfs)
dockerlike_scenarios
finish
