#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/run-bench.sh: time `run` of /bin/true from one busybox bundle with
# berth, Debian's runc and (if installed) crun, each with its own --root and a
# fresh container ID per iteration; print the medians, the ratios and berth's
# peak RSS. A benchmark, not a test. Run as root from anywhere:
#   bash bench/run-bench.sh [RUNS]
# As an ordinary user (what bench/rootless.sh does) it times the --rootless spec.
# Environment: BERTH (default build/berth), RUNS (default 50), WARMUP (default 5),
# SECCOMP (default: the default profile of `berth spec`, which every runtime loads;
# none: no linux.seccomp, to time the container start alone).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
berth=${BERTH:-$repo/build/berth}
runs=${1:-${RUNS:-50}}
warmup=${WARMUP:-5}

for tool in hyperfine jq /usr/bin/time runc; do
	command -v "$tool" >/dev/null || {
		echo "run-bench.sh: $tool is missing (apt-get install hyperfine jq time runc)" >&2
		exit 1
	}
done
[[ -x $berth ]] || {
	echo "run-bench.sh: no berth at $berth (build first: meson setup build && ninja -C build)" >&2
	exit 1
}

# Under /run, where runtimes keep their state by default (/run/berth, /run/runc):
# on a /tmp that many tests have churned, ext4 inode allocation alone added
# about 1 ms to every start here, for every runtime.
# As an ordinary user (bench/rootless.sh): under its runtime dir, a --rootless spec.
if [[ $(id -u) == 0 ]]; then
	work=$(mktemp -d /run/berth-bench.XXXXXX)
	spec_args=()
else
	work=$(mktemp -d "${XDG_RUNTIME_DIR:?run-bench.sh: not root and no XDG_RUNTIME_DIR}/berth-bench.XXXXXX")
	spec_args=(--rootless)
fi
cleanup() {
	local rt id b
	for rt in berth runc crun; do
		[[ -d $work/root-$rt ]] || continue
		b=$rt
		[[ $rt == berth ]] && b=$berth
		for id in $(ls "$work/root-$rt" 2>/dev/null); do
			[[ -d $work/root-$rt/$id ]] && "$b" --root "$work/root-$rt" delete -f "$id" \
				>/dev/null 2>&1 || true
		done
	done
	if grep -q "$work" /proc/self/mountinfo; then
		echo "run-bench.sh: mounts left under $work, not removing it" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

bundle=$work/bundle
mkdir -p "$bundle"
bash "$repo/tests/lib/mkrootfs.sh" "$bundle/rootfs" >/dev/null
"$berth" spec "${spec_args[@]}" -b "$bundle"
# ociVersion 1.0.2: Debian's crun 1.8 refuses newer versions; berth and runc take it.
jq --arg seccomp "${SECCOMP:-default}" \
	'.process.args = ["/bin/true"] | .process.terminal = false | .ociVersion = "1.0.2"
	 | if $seccomp == "none" then del(.linux.seccomp) else . end' \
	"$bundle/config.json" \
	>"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"

runtimes=(berth runc crun)
declare -A bin=([berth]=$berth [runc]=runc [crun]=crun)
skipped=()
ok=()
# Probe each runtime once: crun refuses hybrid cgroup hosts, for example.
for rt in "${runtimes[@]}"; do
	if ! command -v "${bin[$rt]}" >/dev/null; then
		skipped+=("$rt: not installed")
		continue
	fi
	mkdir -p "$work/root-$rt"
	if ! msg=$("${bin[$rt]}" --root "$work/root-$rt" run -b "$bundle" probe 2>&1 </dev/null); then
		"${bin[$rt]}" --root "$work/root-$rt" delete -f probe >/dev/null 2>&1 || true
		skipped+=("$rt: $(echo "$msg" | tail -n1)")
		continue
	fi
	ok+=("$rt")
done
[[ ${ok[0]:-} == berth ]] || {
	echo "run-bench.sh: berth cannot run the bundle: ${skipped[0]}" >&2
	exit 1
}

# `run` deletes its container when it exits, so one ID per runtime is reused;
# --prepare removes a leftover (outside the timing) should a run ever fail.
args=()
for rt in "${ok[@]}"; do
	args+=(--prepare "sh -c '${bin[$rt]} --root $work/root-$rt delete -f bench >/dev/null 2>&1; true'")
	args+=(-n "$rt" "${bin[$rt]} --root $work/root-$rt run -b $bundle bench")
done
hyperfine -N --warmup "$warmup" --runs "$runs" --output null \
	--export-json "$work/result.json" "${args[@]}" >&2

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' \
	"$work/result.json"; }
declare -A ms
for rt in "${ok[@]}"; do
	ms[$rt]=$(awk -v a="$(median "$rt")" 'BEGIN { printf "%.2f", a }')
done

# Peak RSS of berth itself (KiB): the largest over a few runs.
rss=0
for i in 1 2 3 4 5; do
	r=$(/usr/bin/time -f %M "$berth" --root "$work/root-berth" run -b "$bundle" "rss-$i" \
		2>&1 >/dev/null </dev/null | tail -n1)
	((r > rss)) && rss=$r
done

echo
echo "median wall time of 'run /bin/true' over $runs runs (seccomp: ${SECCOMP:-default}):"
for rt in "${ok[@]}"; do
	printf '  %-6s %8s ms\n' "$rt" "${ms[$rt]}"
done
for rt in "${ok[@]}"; do
	[[ $rt == berth ]] && continue
	printf '  %s/berth: %sx\n' "$rt" "$(awk -v a="${ms[$rt]}" -v b="${ms[berth]}" \
		'BEGIN { printf "%.1f", a / b }')"
done
echo "berth peak RSS: $rss KiB"
for s in "${skipped[@]}"; do
	echo "skipped $s"
done
