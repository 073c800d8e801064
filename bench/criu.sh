#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/criu.sh: time `checkpoint` and `restore -d` of a small container (a busybox
# shell counting into a file once a second) with berth and Debian's runc side by side,
# and print the medians and the ratios. A benchmark, not a test. Debian's criu 3.17
# works only on the test VM's kernel, so run from the host it starts itself in the VM
# of tests/vm/run-in-vm.sh (qemu TCG: absolute times are those of an emulated
# machine, many times the host's; compare the ratios). Run as root:
#   bash bench/criu.sh [RUNS]
# Environment: BERTH (default build/berth), RUNS (default 5), BERTH_CGROUPS_MODE
# (--manage-cgroups-mode of berth's checkpoint and restore; default: none given, soft;
# runc 1.1 knows no "ignore" and is always left to its default), BERTH_EMPTY_NS
# (--empty-ns of berth's checkpoint and restore; runc 1.1 always passes network: with
# BERTH_EMPTY_NS=network both leave the network namespace's content unsaved).
# Each round checkpoints the running container into fresh images, deletes what the
# runtime kept of it (berth keeps a checkpointed container as stopped, runc nothing)
# and restores it from them; the runtimes take turns within a round. The container's
# stdio are pipes, as an engine gives them: CRIU dumps those, not host files.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
berth=$(realpath "${BERTH:-$repo/build/berth}")
runs=${1:-${RUNS:-5}}
[[ -x $berth ]] || {
	echo "criu.sh: no berth at $berth (build first: meson setup build && ninja -C build)" >&2
	exit 1
}
if [[ ${BERTH_IN_VM:-} != 1 ]]; then
	cd "$repo"
	shares=()
	[[ $berth == "$repo"/* ]] || shares=(--share "$(dirname "$berth")")
	exec bash tests/vm/run-in-vm.sh "${shares[@]}" --timeout "${BERTH_VM_TIMEOUT:-1800}" \
		-e BERTH="$berth" -e RUNS="$runs" -e BERTH_CGROUPS_MODE -e BERTH_EMPTY_NS -- bash bench/criu.sh
fi

for tool in criu runc jq; do
	command -v "$tool" >/dev/null || {
		echo "criu.sh: $tool is missing (apt-get install criu runc jq)" >&2
		exit 1
	}
done
criu check >/dev/null 2>&1 || {
	echo "criu.sh: criu check fails on this kernel: $(criu check 2>&1 | tail -n1)" >&2
	exit 1
}

work=$(mktemp -d /tmp/berth-criu-bench.XXXXXX)
declare -A bin=([berth]=$berth [runc]=runc)
runtimes=(berth runc)
if ! "$berth" checkpoint --help >/dev/null 2>&1; then
	echo "criu.sh: berth has no checkpoint command: timing runc alone" >&2
	runtimes=(runc)
fi
cat_pid=
cleanup() {
	local rt
	for rt in "${runtimes[@]}"; do
		"${bin[$rt]}" --root "$work/root-$rt" delete -f bench >/dev/null 2>&1 || true
	done
	[[ -n $cat_pid ]] && kill "$cat_pid" 2>/dev/null
	if grep -q "$work" /proc/self/mountinfo; then
		echo "criu.sh: mounts left under $work, not removing it" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

bundle=$work/bundle
mkdir -p "$bundle"
bash "$repo/tests/lib/mkrootfs.sh" "$bundle/rootfs" >/dev/null
"$berth" spec -b "$bundle"
jq '.process.args = ["sh", "-c", "i=0; while :; do echo $i >/count; i=$((i+1)); sleep 1; done"]
    | .process.terminal = false | .root.readonly = false' \
	"$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"

# The containers' stdin is the output of cat, their stdout and stderr its input (and
# so are the runtimes' own, which the log then holds).
coproc CAT { cat >>"$work/stdio.log"; }
# shellcheck disable=SC2153 # set by coproc
cat_pid=$CAT_PID
exec {cin}<&"${CAT[0]}" {cout}>&"${CAT[1]}"
step() { # RUNTIME ARGS...: the runtime on the pipes; on failure the log's tail
	local rt=$1
	shift
	if ! "${bin[$rt]}" --root "$work/root-$rt" "$@" <&"$cin" >&"$cout" 2>&1; then
		sleep 0.5
		echo "criu.sh: $rt $* failed:" >&2
		tail -n 5 "$work/stdio.log" >&2
		exit 1
	fi
}
now() { date +%s%N; }

for rt in "${runtimes[@]}"; do
	step "$rt" create -b "$bundle" bench
	step "$rt" start bench
done
declare -A cg=([berth]=${BERTH_CGROUPS_MODE:+--manage-cgroups-mode=$BERTH_CGROUPS_MODE})
declare -A ens=([berth]=${BERTH_EMPTY_NS:+--empty-ns=$BERTH_EMPTY_NS})
declare -A ckpt rest
for ((i = 1; i <= runs; i++)); do
	for rt in "${runtimes[@]}"; do
		img=$work/img-$rt
		rm -rf "$img"
		t0=$(now)
		step "$rt" checkpoint ${cg[$rt]:+"${cg[$rt]}"} ${ens[$rt]:+"${ens[$rt]}"} --image-path "$img" --work-path "$img" bench
		t1=$(now)
		"${bin[$rt]}" --root "$work/root-$rt" delete -f bench >/dev/null 2>&1 || true
		t2=$(now)
		step "$rt" restore ${cg[$rt]:+"${cg[$rt]}"} ${ens[$rt]:+"${ens[$rt]}"} -d -b "$bundle" --image-path "$img" --work-path "$img" \
			bench
		t3=$(now)
		ckpt[$rt]+=" $(((t1 - t0) / 1000))"
		rest[$rt]+=" $(((t3 - t2) / 1000))"
	done
done
size=$(du -sk "$work/img-${runtimes[0]}" | cut -f1)

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END {
	printf "%.1f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) / 1000 }'; }
echo
echo "median wall time over $runs rounds, in the VM (qemu TCG, $(uname -r), criu $(criu --version | sed -n 's/^Version: //p')):"
declare -A mc mr
for rt in "${runtimes[@]}"; do
	mc[$rt]=$(median <<<"${ckpt[$rt]}")
	mr[$rt]=$(median <<<"${rest[$rt]}")
	printf '  %-6s checkpoint %9s ms   restore %9s ms\n' "$rt" "${mc[$rt]}" "${mr[$rt]}"
done
if [[ ${runtimes[0]} == berth ]]; then
	printf '  runc/berth: checkpoint %sx, restore %sx\n' \
		"$(awk -v a="${mc[runc]}" -v b="${mc[berth]}" 'BEGIN { printf "%.2f", a / b }')" \
		"$(awk -v a="${mr[runc]}" -v b="${mr[berth]}" 'BEGIN { printf "%.2f", a / b }')"
fi
echo "images of one checkpoint: $size KiB"
[[ -z ${BERTH_CGROUPS_MODE:-} ]] ||
	echo "berth with --manage-cgroups-mode=$BERTH_CGROUPS_MODE, runc with its default"
if [[ -n ${BERTH_EMPTY_NS:-} ]]; then
	echo "berth with --empty-ns=$BERTH_EMPTY_NS, runc with its default (network)"
else
	echo "berth saves and restores the network namespace's content, runc does not (--empty-ns network)"
fi
