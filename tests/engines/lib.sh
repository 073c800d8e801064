# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers of the engine tests (sourced by podman.sh, containerd.sh, docker.sh):
# a scenario runner that prints one ok/FAIL/skip line per scenario and the final
# "N passed, N failed, N skipped", package installs from Debian's archive, the
# busybox rootfs and the local images built from it (no registry involved).

: "${BERTH:?BERTH must be the absolute path of the berth binary}"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IMG_TAG=${IMG_TAG:-berth-busybox}
passed=0 failed=0 skipped=0
SKIP=77
# interrupted or cut off from its reader: still run the EXIT trap (daemons, mounts)
trap 'exit 130' INT TERM HUP
trap '' PIPE

say() { printf '== %s\n' "$*" >&2; }

# need_pkgs PKG...: install what is missing (tests/engines/run installs every
# engine's packages before it enters the engine's namespaces, where there is no
# network; this is for a script run by hand); non-zero when apt cannot.
source "$REPO/tests/lib/apt.sh"
need_pkgs() { apt_install "$@"; }

# scenario NAME FUNC [ARGS...]: run FUNC with errexit in a subshell, its output in
# $LOGDIR/NAME.log; exit 0 = pass, 77 = skip (first line of the log says why).
# ONLY (a regex) limits which scenarios run; SCENARIO_NOTE, when set, ends the line.
scenario() {
	local name=$1 rc
	shift
	if [[ -n ${ONLY:-} && ! $name =~ $ONLY ]]; then
		return 0
	fi
	local log=$LOGDIR/$name.log start=$SECONDS
	(set -eo pipefail; "$@") >"$log" 2>&1
	rc=$?
	if ((rc == 0)); then
		passed=$((passed + 1))
		printf 'ok   %s %s (%ss)%s\n' "$ENGINE" "$name" $((SECONDS - start)) "${SCENARIO_NOTE:+ $SCENARIO_NOTE}"
	elif ((rc == SKIP)); then
		skipped=$((skipped + 1))
		printf 'skip %s %s: %s%s\n' "$ENGINE" "$name" "$(grep '^skip: ' "$log" | tail -n1 | cut -c7-)" "${SCENARIO_NOTE:+ $SCENARIO_NOTE}"
	else
		failed=$((failed + 1))
		printf 'FAIL %s %s (exit %s)%s\n' "$ENGINE" "$name" "$rc" "${SCENARIO_NOTE:+ $SCENARIO_NOTE}"
		sed 's/^/     | /' "$log" | tail -n 15
	fi
}

skip() {
	echo "skip: $*"
	exit $SKIP
}
fail() {
	echo "fail: $*"
	exit 1
}
# expect_eq WHAT GOT WANT
expect_eq() {
	[[ $2 == "$3" ]] || fail "$1: got '$2', want '$3'"
}
expect_match() {
	[[ $2 =~ $3 ]] || fail "$1: '$2' does not match '$3'"
}
# retry SECONDS CMD...: run CMD every 0.1 s until it succeeds
retry() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

# mk_rootfs_tar DIR: $DIR/busybox.tar, a tarball of the test busybox rootfs
# podman_conf DIR: a private containers.conf in DIR, exported as CONTAINERS_CONF.
# Root here has no CAP_SYS_RESOURCE: podman's default rlimits (1048576) cannot be
# set, so it asks for this machine's hard limits. podman also gives the runtime
# --root /run/<runtime>; podman_run_root_cleanup removes what berth keeps there
# (its seccomp cache) unless /run/berth existed before podman_conf.
podman_conf() {
	local dir=$1 nproc
	[[ -e /run/berth ]] && podman_had_run_berth=1 || podman_had_run_berth=0
	mkdir -p "$dir/cni"
	nproc=$(ulimit -Hu)
	((nproc <= 32768)) || nproc=32768
	cat >"$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"
[network]
network_backend = "cni"
network_config_dir = "$dir/cni"
CONF
	export CONTAINERS_CONF=$dir/containers.conf
}

podman_run_root_cleanup() {
	if ((!${podman_had_run_berth:-1})); then
		rm -rf /run/berth/.seccomp-cache
		rmdir /run/berth 2>/dev/null
	fi
	return 0
}

mk_rootfs_tar() {
	rm -rf "$1/rootfs"
	bash "$REPO/tests/lib/mkrootfs.sh" "$1/rootfs" >&2
	tar -C "$1/rootfs" --numeric-owner -cf "$1/busybox.tar" .
}

# mk_oci_archive DIR NAME: $DIR/image.tar, the busybox rootfs as an image named NAME
# whose command is sh (tests/lib/oci.sh)
source "$REPO/tests/lib/oci.sh"
mk_oci_archive() {
	[[ -f $1/busybox.tar ]] || mk_rootfs_tar "$1"
	oci_archive "$1" "$1/busybox.tar" "$2" '["sh"]'
}

# containerd_start WORK <TOML: start containerd as $daemon_pid with a config in
# WORK/config.toml that keeps all its state (root, state, sockets, opt) under WORK,
# its socket WORK/containerd.sock, and the TOML read from stdin (top-level keys
# first, then tables) after its top-level keys; its log in WORK/containerd.log.
# Returns non-zero, with the log's tail, if ctr cannot reach it.
containerd_start() {
	local work=$1
	{
		printf 'version = 2\nroot = "%s"\nstate = "%s"\n' "$work/root" "$work/state"
		cat
		cat <<CONF
[grpc]
  address = "$work/containerd.sock"
[ttrpc]
  address = "$work/containerd.sock.ttrpc"
[debug]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$work/opt"
CONF
	} >"$work/config.toml"
	containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
	daemon_pid=$!
	retry 30 ctr -a "$work/containerd.sock" version >/dev/null 2>&1 || {
		tail -n 20 "$work/containerd.log" >&2
		return 1
	}
}

# containerd_stop CTR...: kill and remove every task CTR (a ctr command line with its
# socket and namespace) lists, then stop containerd ($daemon_pid) and wait for it
containerd_stop() {
	local t
	for t in $("$@" task ls -q 2>/dev/null); do
		"$@" task kill -s SIGKILL "$t" >/dev/null 2>&1
		"$@" task rm -f "$t" >/dev/null 2>&1
	done
	if [[ -n ${daemon_pid:-} ]]; then
		kill "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	return 0
}

# seccomp_profile FILE: allow everything but mkdir/mkdirat (EPERM)
seccomp_profile() {
	cat >"$1" <<'JSON'
{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
 "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}
JSON
}

# host_cgroup_file PID CONTROLLER FILE: the content of a v1 (or unified) cgroup file of PID
host_cgroup_file() {
	local pid=$1 ctrl=$2 file=$3 line path base
	line=$(grep -E "^[0-9]+:([^:]*,)?$ctrl(,[^:]*)?:" "/proc/$pid/cgroup" | head -n1) || true
	if [[ -n $line ]]; then
		path=${line#*:*:}
		for base in /sys/fs/cgroup/"$ctrl" /sys/fs/cgroup/*"$ctrl"*; do
			[[ -f $base$path/$file ]] && { cat "$base$path/$file"; return 0; }
		done
	fi
	path=$(grep -E '^0::' "/proc/$pid/cgroup" | cut -d: -f3-)
	for base in /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[[ -f $base$path/$file ]] && { cat "$base$path/$file"; return 0; }
	done
	echo "no $ctrl/$file for pid $pid" >&2
	return 1
}

# tmux_session NAME CMD: a detached 100x30 tmux session on a private server
TMUX_SOCK=berth-eng-$$
tmux_() { tmux -L "$TMUX_SOCK" "$@"; }
tmux_screen() { tmux_ capture-pane -p -t "$1"; }
tmux_wait() { retry "$3" bash -c 'tmux -L "$0" capture-pane -p -t "$1" | grep -qE "$2"' "$TMUX_SOCK" "$1" "$2"; }

# interactive TARGET: the prompt, a typed command, a resize seen by stty, exit
interactive() {
	local s=$1
	tmux_wait "$s" '^/ #' 20 || { tmux_screen "$s"; fail "no prompt"; }
	tmux_ send-keys -t "$s" 'echo typed-$((6*7))' Enter
	tmux_wait "$s" '^typed-42' 10 || { tmux_screen "$s"; fail "typed command"; }
	tmux_ resize-window -t "$s" -x 120 -y 40
	sleep 0.3
	tmux_ send-keys -t "$s" 'stty size' Enter
	tmux_wait "$s" '^40 120' 10 || { tmux_screen "$s"; fail "resize not seen"; }
	tmux_ send-keys -t "$s" 'exit 0' Enter
	tmux_wait "$s" '^exited-0' 15 || { tmux_screen "$s"; fail "no exit status 0"; }
}

finish() {
	echo "$passed passed, $failed failed, $skipped skipped"
	((failed == 0))
}

# cgroup_cleanup NAME: remove the empty cgroup directories NAME (a parent the engine
# asked for, e.g. /libpod_parent) left in every hierarchy; never touches a busy one
cgroup_cleanup() {
	local d
	for d in /sys/fs/cgroup/*/"$1" /sys/fs/cgroup/"$1"; do
		[[ -d $d ]] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

# umount_under DIR: unmount whatever is still mounted below DIR (deepest first)
umount_under() {
	local m
	awk -v d="$1" '$5 ~ "^"d {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
}
