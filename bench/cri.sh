#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/cri.sh [N]: pod start latency through containerd's CRI with berth and with
# runc as the runtime handler, side by side: RunPodSandbox + CreateContainer +
# StartContainer until the app's command has run, N runs each (default 20),
# interleaved; the median, and the RSS of the per-pod shim. Same setup as tests/cri
# (its own network and mount namespaces, containerd's state in a temporary directory).
# BERTH (default build/berth): absolute path.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BERTH=$(realpath "${BERTH:-$here/../build/berth}")
export BERTH
source "$here/../tests/lib/apt.sh"
mapfile -t pkgs < <(bash "$here/../tests/cri/run" --packages)
apt_install "${pkgs[@]}" || { echo "bench/cri.sh: cannot install ${pkgs[*]}" >&2; exit 1; }
CRI_MODE=bench CRI_BENCH_RUNS=${1:-20} exec unshare --net --mount --propagation private -- \
	bash -c 'ip link set lo up && exec bash "$0"' "$here/../tests/cri/cri.sh"
