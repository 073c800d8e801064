#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/seccomp-cache.sh: what the compiled-filter cache saves on a container
# start. Times `berth run` of /bin/true with the default seccomp profile (from
# `berth spec`) with the cache (<root>/.seccomp-cache) and with
# BERTH_SECCOMP_CACHE=0 (libseccomp compiles the profile on every start), side
# by side with hyperfine, and prints both medians and the saving. Both commands
# go through env(1) so that neither pays for an extra exec the other does not.
# A benchmark, not a test. Run as root:
#   bash bench/seccomp-cache.sh [RUNS]
# Environment: BERTH (default build/berth), RUNS (default 100), WARMUP (default 5).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
berth=${BERTH:-$repo/build/berth}
runs=${1:-${RUNS:-100}}
warmup=${WARMUP:-5}

for tool in hyperfine jq; do
	command -v "$tool" >/dev/null || {
		echo "seccomp-cache.sh: $tool is missing (apt-get install hyperfine jq)" >&2
		exit 1
	}
done
[[ -x $berth ]] || {
	echo "seccomp-cache.sh: no berth at $berth (build first: meson setup build && ninja -C build)" >&2
	exit 1
}

work=$(mktemp -d /tmp/berth-seccomp-bench.XXXXXX)
cleanup() {
	local mode
	for mode in cached uncached; do
		"$berth" --root "$work/root-$mode" delete -f bench >/dev/null 2>&1 || true
	done
	if grep -q "$work" /proc/self/mountinfo; then
		echo "seccomp-cache.sh: mounts left under $work, not removing it" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

bundle=$work/bundle
mkdir -p "$bundle"
bash "$repo/tests/lib/mkrootfs.sh" "$bundle/rootfs" >/dev/null
"$berth" spec -b "$bundle"
jq -e '.linux.seccomp.defaultAction' "$bundle/config.json" >/dev/null || {
	echo "seccomp-cache.sh: berth spec wrote no seccomp profile" >&2
	exit 1
}
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$bundle/config.json" \
	>"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"
n_rules=$(jq '[.linux.seccomp.syscalls[].names | length] | add' "$bundle/config.json")

declare -A envval=([cached]=1 [uncached]=0)
args=()
for mode in cached uncached; do
	mkdir -p "$work/root-$mode"
	cmd="env BERTH_SECCOMP_CACHE=${envval[$mode]} $berth --root $work/root-$mode run -b $bundle bench"
	# one run outside the timing: fills the cache, and proves the bundle runs
	$cmd </dev/null
	args+=(--prepare "sh -c '$berth --root $work/root-$mode delete -f bench >/dev/null 2>&1; true'")
	args+=(-n "$mode" "$cmd")
done
[[ -n $(ls "$work/root-cached/.seccomp-cache" 2>/dev/null) ]] || {
	echo "seccomp-cache.sh: no cache entry was written" >&2
	exit 1
}
[[ -z $(ls "$work/root-uncached/.seccomp-cache" 2>/dev/null) ]] || {
	echo "seccomp-cache.sh: BERTH_SECCOMP_CACHE=0 still wrote a cache entry" >&2
	exit 1
}

hyperfine -N --warmup "$warmup" --runs "$runs" --output null \
	--export-json "$work/result.json" "${args[@]}" >&2

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' \
	"$work/result.json"; }
on=$(median cached)
off=$(median uncached)
echo
echo "median wall time of 'berth run /bin/true' with the default profile ($n_rules syscall names), $runs runs:"
awk -v on="$on" -v off="$off" 'BEGIN {
	printf "  cache on   %8.2f ms\n", on
	printf "  cache off  %8.2f ms\n", off
	printf "  saving     %8.2f ms per start (%.0f%%)\n", off - on, 100 * (off - on) / off
}'
