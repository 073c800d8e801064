#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/rootless.sh: bench/run-bench.sh as an ordinary user: `run /bin/true` of the
# `berth spec --rootless` bundle with berth, runc and (if installed) crun side by
# side, their medians, the ratios and berth's peak RSS. Run as root: it makes a
# user for the run (and removes it), with a runtime dir of its own.
#   bash bench/rootless.sh [RUNS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
berth=$(realpath "${BERTH:-$repo/build/berth}")
[[ $(id -u) == 0 ]] || { echo "rootless.sh: run it as root (it makes the user)" >&2; exit 1; }

user=berthbench$$
dir=$(mktemp -d /tmp/berth-rootless-bench.XXXXXX)
cleanup() {
	userdel -f "$user" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
useradd -M -N -s /bin/false "$user"
chmod 0755 "$dir"
mkdir -m 0700 "$dir/xdg"
chown "$user" "$dir" "$dir/xdg"
# berth, the benchmark and the rootfs script must be reachable by the user
setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- test -x "$berth" ||
	{ echo "rootless.sh: $berth is not reachable by an ordinary user" >&2; exit 1; }
cd "$dir"
setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- \
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$dir" XDG_RUNTIME_DIR="$dir/xdg" \
	BERTH="$berth" RUNS="${RUNS:-}" WARMUP="${WARMUP:-5}" SECCOMP="${SECCOMP:-}" \
	bash "$repo/bench/run-bench.sh" "$@"
