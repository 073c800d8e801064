#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/shim-rss.sh: the memory a supervised container costs on the host. Start
# one busybox container (sleep) with `berth run -d` and read its berth-shim's
# VmRSS and Pss (steady state, after a second); then the same container under
# Debian's conmon (with runc) for reference. A benchmark, not a test:
#   bash bench/shim-rss.sh
# Environment: BERTH (default build/berth), next to it berth-shim.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
berth=${BERTH:-$repo/build/berth}
[[ -x $berth ]] || { echo "shim-rss.sh: no berth at $berth (build first)" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-shimrss.XXXXXX)
id=shimrss-$$
cleanup() {
	"$berth" --root "$work/berth" delete --force "$id" >/dev/null 2>&1 || true
	if command -v runc >/dev/null; then
		runc --root "$work/runc" delete --force "$id" >/dev/null 2>&1 || true
	fi
	# conmon exits with its container; give it a moment before removing its files
	sleep 0.3
	rm -rf "$work"
}
trap cleanup EXIT

bash "$repo/tests/lib/mkrootfs.sh" "$work/bundle/rootfs" >/dev/null
(cd "$work/bundle" && "$berth" spec >/dev/null)
jq '.process.terminal = false | .process.args = ["sleep", "1000"]' "$work/bundle/config.json" \
	>"$work/config.json" && mv "$work/config.json" "$work/bundle/config.json"

mem() { # pid -> "rss_kib pss_kib"
	local rss pss
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status")
	pss=$(awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo "?")
	echo "$rss $pss"
}

"$berth" --root "$work/berth" run -d -b "$work/bundle" "$id"
sleep 1
shim=$(cut -d' ' -f1 "$work/berth/$id/shim.pid")
read -r rss pss < <(mem "$shim")
printf '%-28s VmRSS %5s KiB   Pss %5s KiB   (%s)\n' "berth-shim" "$rss" "$pss" \
	"$(stat -c %s "$(dirname "$berth")/berth-shim") bytes, static"
"$berth" --root "$work/berth" kill "$id" KILL
"$berth" --root "$work/berth" wait "$id" >/dev/null
"$berth" --root "$work/berth" delete "$id"

if command -v conmon >/dev/null && command -v runc >/dev/null; then
	mkdir -p "$work/exits" "$work/sock"
	conmon --api-version 1 -c "$id" -u "$id" -r "$(command -v runc)" -b "$work/bundle" \
		-p "$work/pidfile" -n "$id" --exit-dir "$work/exits" -l "k8s-file:$work/ctr.log" \
		--conmon-pidfile "$work/conmon.pid" --socket-dir-path "$work/sock" --runtime-arg --root --runtime-arg "$work/runc" \
		--log-level error >/dev/null 2>&1
	# conmon daemonizes before runc create finished: wait for the pid file
	for _ in $(seq 100); do [[ -s $work/pidfile ]] && break; sleep 0.05; done
	runc --root "$work/runc" start "$id"
	sleep 1
	cpid=$(cat "$work/conmon.pid")
	read -r rss pss < <(mem "$cpid")
	printf '%-28s VmRSS %5s KiB   Pss %5s KiB   (%s)\n' "conmon $(conmon --version |
		awk '/version/ {print $3; exit}') (runc)" "$rss" "$pss" "dynamic"
	runc --root "$work/runc" kill "$id" KILL
	for _ in $(seq 50); do [[ -e /proc/$cpid ]] || break; sleep 0.1; done
	runc --root "$work/runc" delete --force "$id" >/dev/null 2>&1 || true
else
	echo "conmon or runc missing: apt-get install conmon runc for the reference" >&2
fi
