#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-tests.sh [BUILD_DIR]: the VM part of tests/run. Runs, in the VM of
# run-in-vm.sh, tests/integration/test_cgroup_v2.py (when present) and
# tests/vm/test_vm_smoke.py, tests/vm/test_vm_criu.py, tests/vm/test_vm_criu_opts.py
# (CRIU's options), tests/vm/test_vm_criu_net.py (with a network),
# tests/vm/test_vm_criu_overlay.py (overlay root filesystems) and the
# delegated-cgroup test of test_rootless.py with cgroup v2,
# then in a second boot with cgroup v1 only (--cgroup v1)
# tests/integration/test_cgroup_v1only.py and tests/vm/test_vm_criu_v1.py
# (checkpoint/restore), in a third with the hybrid layout (--cgroup hybrid)
# test_vm_criu_v1.py again, in a fourth with systemd as PID 1 (--init systemd)
# tests/vm/test_vm_systemd.py and
# tests/vm/test_vm_systemd_user.py and tests/vm/test_vm_systemd_engines.py (podman
# and docker on the systemd cgroup driver) and tests/vm/test_vm_criu_systemd.py
# (checkpoint/restore into a scope), in a fifth (cgroup v2)
# tests/vm/test_vm_criu_podman.py (checkpoint/restore), against
# BUILD_DIR/berth (built on the host: TCG is 15-25 times slower). pytest's
# output goes to stderr; the last line on stdout is "PASSED FAILED SKIPPED",
# the sum of the runs. A VM that fails or times out counts as one failure.
# A test still running after 600 s has pytest print every thread's traceback
# (faulthandler_timeout), and 90 s before a boot's timeout the guest lists its
# processes (tests/vm/stage2): a hang says where it is.
#
# Environment: VM_PYTEST_ARGS for extra pytest arguments, BERTH_VM_TIMEOUT
# (seconds a boot: 2700 for the v2 one, 1800 for the v1 one, 1500 for the hybrid one,
# 2700 for the systemd one), BERTH_VM_CRIU_TIMEOUT (the podman one's, default
# 2700).
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
repo=$PWD
build=$(realpath -m -- "${1:-${BUILD_DIR:-build}}")
say() { printf '== %s\n' "$*" >&2; }

if [[ ! -x $build/berth ]]; then
	say "vm: no berth binary in '$build'"
	echo "0 1 0"
	exit 1
fi
shares=()
[[ $build == "$repo"/* ]] || shares=(--share "$build")

# One VM run: NAME, then run-in-vm.sh options (a --timeout there wins), --, then the
# test files.
# Prints "PASSED FAILED SKIPPED" of that run.
vm_pass() {
	local name=$1 opts=() junit log rc it ie if is p f start
	shift
	while [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	shift
	junit=$build/vm-$name-junit.xml
	log=$build/vm-$name-console.log
	rm -f "$junit"
	start=$(date +%s)
	# shellcheck disable=SC2086
	bash tests/vm/run-in-vm.sh "${shares[@]}" --timeout "${BERTH_VM_TIMEOUT:-900}" "${opts[@]}" \
		--log "$log" -e BERTH="$build/berth" -e PYTHONUNBUFFERED=1 -- /usr/bin/python3 -m pytest \
		-p no:cacheprovider -q -rfE -o faulthandler_timeout=600 --junitxml="$junit" \
		${VM_PYTEST_ARGS:-} "$@" >&2
	rc=$?
	say "vm $name: finished in $(($(date +%s) - start)) s (exit $rc; kernel log in $log)"
	if [[ ! -s $junit ]]; then
		say "vm $name: pytest produced no report (exit $rc)"
		echo "0 1 0"
		return
	fi
	read -r it ie if is < <(/usr/bin/python3 - "$junit" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tot = [sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "errors", "failures", "skipped")]
print(*tot)
EOF
	)
	p=$((it - ie - if - is)) f=$((ie + if))
	# pytest or the VM failing without a failed test (collection error, timeout): count it
	((rc != 0 && f == 0)) && f=1
	say "vm $name: $p passed, $f failed, $is skipped"
	echo "$p $f $is"
}

# cgroup v2: the v2 driver and the VM itself
tests=()
[[ -f tests/integration/test_cgroup_v2.py ]] && tests+=(tests/integration/test_cgroup_v2.py)
# rootless with a delegated cgroup v2 subtree (the rest of test_rootless.py runs on the host)
tests+=(tests/vm/test_vm_smoke.py tests/integration/test_rootless.py::test_delegated_cgroup_v2)
# checkpoint and restore with CRIU (the host's kernel is too new for Debian's criu)
tests+=(tests/vm/test_vm_criu.py tests/vm/test_vm_criu_opts.py tests/vm/test_vm_criu_net.py
	tests/vm/test_vm_criu_overlay.py)
read -r p1 f1 s1 < <(vm_pass v2 --cgroup v2 --timeout "${BERTH_VM_TIMEOUT:-2700}" -- "${tests[@]}")
# cgroup v1 only: a second boot, without cgroup2; checkpoint/restore there too
tests=()
[[ -f tests/integration/test_cgroup_v1only.py ]] && tests+=(tests/integration/test_cgroup_v1only.py)
tests+=(tests/vm/test_vm_criu_v1.py)
read -r p2 f2 s2 < <(vm_pass v1 --cgroup v1 --timeout "${BERTH_VM_TIMEOUT:-1800}" -- "${tests[@]}")
# the hybrid layout (v1 controllers, cgroup2 at /sys/fs/cgroup/unified):
# checkpoint/restore, where a cgroup2 hierarchy without controllers comes in
read -r p5 f5 s5 < <(vm_pass hybrid --cgroup hybrid --timeout "${BERTH_VM_TIMEOUT:-1500}" -- \
	tests/vm/test_vm_criu_v1.py)
# systemd as PID 1 (cgroup v2, owned by systemd): a fourth boot
# (the engines take about 10 minutes under TCG: a longer timeout)
read -r p3 f3 s3 < <(vm_pass systemd --init systemd --timeout "${BERTH_VM_TIMEOUT:-2700}" -- \
	tests/vm/test_vm_systemd.py tests/vm/test_vm_systemd_user.py \
	tests/vm/test_vm_systemd_engines.py tests/vm/test_vm_criu_systemd.py)
# checkpoint/restore (CRIU works on the VM's kernel, not the host's): podman with
# berth and runc, a fifth boot of its own, as under TCG it takes about 10 minutes a
# runtime
read -r p4 f4 s4 < <(vm_pass criu --cgroup v2 --timeout "${BERTH_VM_CRIU_TIMEOUT:-2700}" -- \
	tests/vm/test_vm_criu_podman.py)
p=$((p1 + p2 + p3 + p4 + p5)) f=$((f1 + f2 + f3 + f4 + f5)) is=$((s1 + s2 + s3 + s4 + s5))
say "vm: $p passed, $f failed, $is skipped"
echo "$p $f $is"
((f == 0))
