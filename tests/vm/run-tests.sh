#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-tests.sh [BUILD_DIR]: the cgroup v2 part of tests/run. Runs, in the VM of
# run-in-vm.sh, tests/integration/test_cgroup_v2.py (when present) and
# tests/vm/test_vm_smoke.py against BUILD_DIR/berth (built on the host: TCG is
# 15-25 times slower). pytest's output goes to stderr; the last line on stdout
# is "PASSED FAILED SKIPPED". A VM that fails or times out counts as one failure.
#
# Environment: VM_PYTEST_ARGS for extra pytest arguments, BERTH_VM_TIMEOUT
# (seconds, default 900).
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

tests=()
[[ -f tests/integration/test_cgroup_v2.py ]] && tests+=(tests/integration/test_cgroup_v2.py)
tests+=(tests/vm/test_vm_smoke.py)

junit=$build/vm-junit.xml
log=$build/vm-console.log
rm -f "$junit"
start=$(date +%s)
# shellcheck disable=SC2086
bash tests/vm/run-in-vm.sh "${shares[@]}" --timeout "${BERTH_VM_TIMEOUT:-900}" --log "$log" \
	-e BERTH="$build/berth" -- /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE \
	--junitxml="$junit" ${VM_PYTEST_ARGS:-} "${tests[@]}" >&2
rc=$?
say "vm: finished in $(($(date +%s) - start)) s (exit $rc; kernel log in $log)"

if [[ ! -s $junit ]]; then
	say "vm: pytest produced no report (exit $rc)"
	echo "0 1 0"
	exit 1
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
say "vm: $p passed, $f failed, $is skipped"
echo "$p $f $is"
((f == 0))
