# SPDX-License-Identifier: LGPL-2.1-or-later
# apt_install PKG...: install the Debian packages of PKG that are missing, as root,
# before any namespace is entered (there is no network inside the tests' own).
# A passing network or mirror fault must not fail CI: every download is retried
# by apt (Acquire::Retries), and a failed install is tried again after a fresh
# `apt-get update` and a pause. Returns non-zero, having said which packages,
# when they still cannot be installed. Sourced by tests/run, tests/engines/*,
# tests/vm/run-in-vm.sh and tests/lib/quickstart.sh.

apt_missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
			printf '%s\n' "$p"
	done
}

apt_install() {
	local missing try opts=(-o Acquire::Retries=5 -o Acquire::http::Timeout=30 -o DPkg::Lock::Timeout=120)
	mapfile -t missing < <(apt_missing "$@")
	((${#missing[@]})) || return 0
	if [[ $(id -u) != 0 ]]; then
		printf 'apt: need root to install %s\n' "${missing[*]}" >&2
		return 1
	fi
	printf '== installing %s\n' "${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	# a policy-rc.d that says 101 keeps the packages' init scripts from starting
	# system-wide daemons (containerd, dockerd): the tests start their own
	local policy=/usr/sbin/policy-rc.d ours=
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
	fi
	for try in 1 2 3; do
		# the package lists of a fresh machine are empty: update on the first try
		# when apt knows nothing of the first missing package, and on every retry
		if ((try > 1)) || ! apt-cache show "${missing[0]}" >/dev/null 2>&1; then
			apt-get "${opts[@]}" update -qq >&2 || true
		fi
		# A kernel's postinst hooks (initramfs, boot loader) may fail on a machine
		# without a boot loader: judge by what dpkg says is installed, not by the exit code
		apt-get "${opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >&2
		mapfile -t missing < <(apt_missing "${missing[@]}")
		((${#missing[@]})) || break
		printf '== apt: %s still missing (try %d of 3)\n' "${missing[*]}" "$try" >&2
		((try == 3)) || sleep $((try * 10))
	done
	[[ -z $ours ]] || rm -f "$policy"
	if ((${#missing[@]})); then
		printf 'apt: cannot install %s\n' "${missing[*]}" >&2
		return 1
	fi
}
