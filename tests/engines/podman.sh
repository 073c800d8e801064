#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# podman (+ conmon) with berth as its runtime: `podman --runtime $BERTH`, all podman
# state (storage, run root, CNI configs, events) under a temporary directory and a
# private containers.conf; the image is `podman import` of the busybox rootfs.
set -uo pipefail
ENGINE=podman
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dockerlike.sh"

if ! need_pkgs podman conmon containernetworking-plugins tmux curl gcc libc6-dev; then
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

# podman kube play of a two-container pod with berth as the runtime of all three
# containers (the infra one runs tests/cri/pause.c, built here: no registry), the
# app containers sharing the pod's network namespace; then podman kube down
PAUSE_IMG=localhost/berth-pause:test
sed -i "s|^\[engine\]\$|&\ninfra_image = \"$PAUSE_IMG\"|" "$WORK/containers.conf"
s_kube_play_down() {
	local yaml=$WORK/kube.yaml out rt
	mkdir -p "$WORK/pause/rootfs"
	gcc -static -O2 -o "$WORK/pause/rootfs/pause" "$REPO/tests/cri/pause.c"
	tar -C "$WORK/pause/rootfs" --numeric-owner -cf "$WORK/pause/rootfs.tar" .
	oci_archive "$WORK/pause" "$WORK/pause/rootfs.tar" "$PAUSE_IMG" '["/pause"]'
	"${E[@]}" load -q -i "$WORK/pause/image.tar"
	cat >"$yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: berth-kube
spec:
  containers:
    - name: web
      image: $IMG
      command: ["sh", "-c", "mkdir -p /www && echo kube-ok >/www/index.html && exec httpd -f -p 8080 -h /www"]
    - name: client
      image: $IMG
      command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
YAML
	trap "\"\${E[@]}\" kube down $yaml >/dev/null 2>&1 || true" EXIT
	"${E[@]}" kube play "$yaml"
	for c in berth-kube-web berth-kube-client; do
		rt=$("${E[@]}" inspect --format '{{.OCIRuntime}}' "$c")
		expect_eq "runtime of $c" "$rt" "$BERTH"
	done
	retry 10 "${E[@]}" exec berth-kube-client wget -q -O "/tmp/page" http://127.0.0.1:8080/ ||
		fail "web not reachable on the pod's localhost"
	out=$("${E[@]}" exec berth-kube-client cat /tmp/page)
	expect_eq "page on localhost" "$out" kube-ok
	"${E[@]}" kube down "$yaml"
	out=$("${E[@]}" pod ps -q; "${E[@]}" ps -aq)
	expect_eq "pods and containers after kube down" "$out" ""
}

# podman's stats need cgroup v2 or the v1 controllers of the container (cgroupfs)
dockerlike_scenarios
scenario kube-play-down s_kube_play_down
finish
