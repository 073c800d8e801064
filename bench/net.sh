#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/net.sh: what veth networking costs a container start. Times `berth run`
# of /bin/true side by side (hyperfine -N) in three configurations of the same
# busybox bundle:
#   host   no network namespace (the host's network; /sys bound from the host)
#   none   a new network namespace with only lo (docker's --network none)
#   veth   a new network namespace on a bridge (berth.net.bridge): berth-net
#          makes the veth pair, takes a lease, sets addresses and routes, and
#          delete removes the host end and the lease
# and prints the medians and the extra time of veth over none and over host.
# Each timed run starts on an idle system (--prepare sleeps SETTLE seconds,
# untimed): the kernel frees a dead network namespace and its veth pair in a
# workqueue that holds the rtnl lock for ~20-30 ms (RCU grace periods), so
# back-to-back runs would measure the previous container's teardown instead;
# set SETTLE=0 to see that throughput figure.
# The bridge (btbench<N>, 10.250.N.0/24) is made for the run and removed after.
# A benchmark, not a test. Run as root:
#   bash bench/net.sh [RUNS]
# Environment: BERTH (default build/berth), RUNS (default 100), WARMUP (default 5),
# SETTLE (default 0.1 s).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
berth=${BERTH:-$repo/build/berth}
runs=${1:-${RUNS:-100}}
warmup=${WARMUP:-5}
settle=${SETTLE:-0.1}

for tool in hyperfine jq ip; do
	command -v "$tool" >/dev/null || {
		echo "net.sh: $tool is missing (apt-get install hyperfine jq iproute2)" >&2
		exit 1
	}
done
[[ -x $berth ]] || {
	echo "net.sh: no berth at $berth (build first: meson setup build && ninja -C build)" >&2
	exit 1
}

n=$(($$ % 250))
bridge=btbench$n
work=$(mktemp -d /tmp/berth-bench-net.XXXXXX)
cleanup() {
	local mode
	for mode in host none veth; do
		"$berth" --root "$work/root-$mode" delete -f bench >/dev/null 2>&1 || true
	done
	ip link del "$bridge" 2>/dev/null || true
	if grep -q "$work" /proc/self/mountinfo; then
		echo "net.sh: mounts left under $work, not removing it" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

mkdir -p "$work/rootfs"
bash "$repo/tests/lib/mkrootfs.sh" "$work/rootfs" >/dev/null
mkdir -p "$work/spec"
"$berth" spec -b "$work/spec"
base='.process.args = ["/bin/true"] | .process.terminal = false | .root.path = "'$work'/rootfs"'
declare -A filter=(
	[host]="$base"' | .linux.namespaces |= map(select(.type != "network"))
		| .mounts |= map(if .destination == "/sys" then {destination: "/sys", type: "bind",
		  source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"]} else . end)'
	[none]="$base"
	[veth]="$base"' | .annotations["berth.net.bridge"] = "'$bridge'"
		| .annotations["berth.net.subnet"] = "10.250.'$n'.0/24"'
)
args=()
for mode in host none veth; do
	mkdir -p "$work/$mode" "$work/root-$mode"
	jq "${filter[$mode]}" "$work/spec/config.json" >"$work/$mode/config.json"
	cmd="$berth --root $work/root-$mode run -b $work/$mode bench"
	# one run outside the timing: proves the bundle runs (and makes the bridge)
	$cmd </dev/null
	args+=(--prepare "sleep $settle" -n "$mode" "$cmd")
done

hyperfine -N --warmup "$warmup" --runs "$runs" --output null \
	--export-json "$work/result.json" "${args[@]}" >&2

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' \
	"$work/result.json"; }
host=$(median host)
none=$(median none)
veth=$(median veth)
# the last container's namespace (and veth) is freed asynchronously
for _ in 1 2 3 4 5 6 7 8 9 10; do
	left=$(ip -o link show master "$bridge" | wc -l)
	((left == 0)) && break
	sleep 0.2
done
echo
echo "median wall time of 'berth run /bin/true', $runs runs (create + start + delete)," \
	"${settle}s apart:"
awk -v h="$host" -v n="$none" -v v="$veth" 'BEGIN {
	printf "  host netns       %8.2f ms\n", h
	printf "  new netns, lo    %8.2f ms\n", n
	printf "  veth on bridge   %8.2f ms\n", v
	printf "  veth - none      %8.2f ms\n", v - n
	printf "  veth - host      %8.2f ms\n", v - h
}'
echo "  veths left on $bridge: $left"
