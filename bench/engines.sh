#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/engines.sh [N]: berth vs runc as the runtime under the same engine, side by
# side: `podman run --rm IMAGE true` and `ctr run --rm IMAGE ID true`, N runs each
# (default 20), interleaved, median wall time and the ratio berth/runc.
# Runs in private network and mount namespaces with all engine state under a
# temporary directory; containerd is started here and stopped by PID.
# BERTH (default build/berth) and RUNC (default /usr/sbin/runc): absolute paths.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ -z ${BENCH_IN_NS:-} ]]; then
	export BENCH_IN_NS=1
	exec unshare --net --mount --propagation private -- \
		bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi
N=${1:-20}
export BERTH=$(realpath "${BERTH:-$here/../build/berth}")
RUNC=${RUNC:-/usr/sbin/runc}
ENGINE=bench
source "$here/../tests/engines/lib.sh"
need_pkgs podman conmon containernetworking-plugins containerd runc >/dev/null ||
	{ echo "bench/engines.sh: cannot install the engines" >&2; exit 1; }

WORK=$(mktemp -d /tmp/berth-bench-engines.XXXXXX)
cd "$WORK" || exit 1 # conmon writes "oom" into its working directory
daemon_pid=
cleanup() {
	"${P[@]}" rm -af -t 0 >/dev/null 2>&1
	"${P[@]}" system reset -f >/dev/null 2>&1
	if [[ -n $daemon_pid ]]; then
		for c in $("${CTR[@]}" c ls -q 2>/dev/null); do "${CTR[@]}" c rm "$c" >/dev/null 2>&1; done
		kill "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	umount_under "$WORK"
	cgroup_cleanup libpod_parent
	cgroup_cleanup berth-bench
	rm -rf "$WORK"
	podman_run_root_cleanup
}
trap cleanup EXIT

mk_rootfs_tar "$WORK"
podman_conf "$WORK"
P=(podman --root "$WORK/storage" --runroot "$WORK/run" --tmpdir "$WORK/tmp"
	--cgroup-manager cgroupfs --storage-driver overlay)
IMG=localhost/$IMG_TAG:latest
"${P[@]}" import -q "$WORK/busybox.tar" "$IMG" >/dev/null || { echo "podman import failed" >&2; exit 1; }

SOCK=$WORK/containerd.sock
cat >"$WORK/config.toml" <<CONF
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$WORK/opt"
CONF
CTR=(ctr -a "$SOCK" -n berth-bench)
containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
daemon_pid=$!
retry 20 "${CTR[@]}" version >/dev/null 2>&1 || { echo "containerd did not start" >&2; exit 1; }
mk_oci_archive "$WORK" "$IMG"
"${CTR[@]}" image import "$WORK/image.tar" >/dev/null || { echo "ctr import failed" >&2; exit 1; }

# ms RUNTIME KIND I: wall time of one run in milliseconds (fails if the run fails)
ms() {
	local t0 t1
	t0=$(date +%s%N)
	case $2 in
	podman) "${P[@]}" --runtime "$1" run --rm "$IMG" true >/dev/null ;;
	ctr) "${CTR[@]}" run --runc-binary "$1" --rm "$IMG" "b$3" true >/dev/null ;;
	esac || return 1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'; }

printf '%-40s %10s %10s %7s\n' "median of $N (ms)" berth runc ratio
for kind in podman ctr; do
	: >"$WORK/berth.$kind" && : >"$WORK/runc.$kind"
	# one warm-up each, then interleaved
	ms "$BERTH" $kind w1 >/dev/null && ms "$RUNC" $kind w2 >/dev/null || { echo "$kind: warm-up run failed" >&2; exit 1; }
	for ((i = 0; i < N; i++)); do
		ms "$BERTH" $kind "x$i" >>"$WORK/berth.$kind" || { echo "$kind: berth run failed" >&2; exit 1; }
		ms "$RUNC" $kind "y$i" >>"$WORK/runc.$kind" || { echo "$kind: runc run failed" >&2; exit 1; }
	done
	b=$(median <"$WORK/berth.$kind") r=$(median <"$WORK/runc.$kind")
	case $kind in
	podman) label="podman run --rm IMAGE true" ;;
	ctr) label="ctr run --rm IMAGE ID true" ;;
	esac
	printf '%-40s %10s %10s %7s\n' "$label" "$b" "$r" "$(awk -v b="$b" -v r="$r" 'BEGIN {printf "%.2f", b / r}')"
done
