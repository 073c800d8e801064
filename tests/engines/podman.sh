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
mkdir -p "$LOGDIR"
podman_conf "$WORK"
E=(podman --root "$WORK/storage" --runroot "$WORK/run" --tmpdir "$WORK/tmp"
	--runtime "$BERTH" --cgroup-manager cgroupfs --storage-driver overlay)
RUN=(run)
RM=(rm -f -t 0)
# On this hybrid host conmon 2.1.6 sees the OOM kill (it writes "oom" into its working
# directory) yet podman 4.3 reports OOMKilled=false, with runc as the runtime too
[[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] ||
	OOM_UNREPORTED="podman 4.3 reports OOMKilled=false on hybrid cgroups (runc: same)"
IMG=localhost/$IMG_TAG:latest

cleanup() {
	"${E[@]}" rm -af -t 1 >/dev/null 2>&1
	"${E[@]}" rmi -af >/dev/null 2>&1
	"${E[@]}" system reset -f >/dev/null 2>&1
	tmux_ kill-server 2>/dev/null
	umount_under "$WORK"
	cgroup_cleanup libpod_parent
	rm -rf "$WORK"
	podman_run_root_cleanup
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
