#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# docker (dockerd 20.10 on the containerd it manages itself) with berth added as a
# runtime (`dockerd --add-runtime berth=$BERTH`, `docker run --runtime berth`). dockerd
# runs with a private config and data-root/exec-root/socket/pidfile under a temporary
# directory and is stopped by PID at the end; the image is `docker load`ed from a
# tarball built here (no registry).
set -uo pipefail
ENGINE=docker
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dockerlike.sh"

if ! need_pkgs docker.io containerd iptables tmux curl; then
	echo "tests/engines/docker.sh: apt-get install docker.io failed" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

WORK=$(mktemp -d /tmp/berth-docker.XXXXXX)
LOGDIR=${LOGDIR:-$WORK/logs}
mkdir -p "$LOGDIR" "$WORK/cli"
SOCK=$WORK/docker.sock
echo '{}' >"$WORK/daemon.json"
export DOCKER_CONFIG=$WORK/cli
# /usr/bin/docker: the client of docker.io (another one may come first in PATH)
E=(/usr/bin/docker -H "unix://$SOCK")
RUN=(run --runtime berth)
RM=(rm -f)
IMG=localhost/$IMG_TAG:latest
CGROUP_PARENT=/berth-eng-docker
daemon_pid=

cleanup() {
	local c
	for c in $("${E[@]}" ps -aq 2>/dev/null); do
		"${E[@]}" rm -f "$c" >/dev/null 2>&1
	done
	if [[ -n $daemon_pid ]]; then
		# dockerd stops the containerd it started
		kill "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	tmux_ kill-server 2>/dev/null
	umount_under "$WORK"
	cgroup_cleanup "${CGROUP_PARENT#/}"
	rm -rf "$WORK"
}
trap cleanup EXIT

dockerd --config-file "$WORK/daemon.json" --data-root "$WORK/data" --exec-root "$WORK/exec" \
	-H "unix://$SOCK" --pidfile "$WORK/docker.pid" --add-runtime "berth=$BERTH" \
	--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "$CGROUP_PARENT" \
	--storage-driver overlay2 >"$WORK/dockerd.log" 2>&1 &
daemon_pid=$!
if ! retry 30 "${E[@]}" version >/dev/null 2>&1; then
	tail -n 20 "$WORK/dockerd.log" >&2
	echo "dockerd did not start"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
mk_oci_archive "$WORK" "$IMG"
if ! "${E[@]}" load -q -i "$WORK/image.tar" >&2; then
	echo "docker load failed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
dockerlike_scenarios
finish
