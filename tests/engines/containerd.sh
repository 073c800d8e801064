#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# containerd (its runc shim, containerd-shim-runc-v2) with berth as the runtime through
# `ctr run --runc-binary $BERTH`. containerd is started by hand with a private config
# and all its state (root, state, sockets) under a temporary directory, and stopped by
# PID at the end; the image is an OCI layout tarball built here, `ctr image import`ed.
set -uo pipefail
ENGINE=containerd
source "$(dirname "$0")/lib.sh"

if ! need_pkgs containerd tmux; then
	echo "tests/engines/containerd.sh: apt-get install containerd failed" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

WORK=$(mktemp -d /tmp/berth-containerd.XXXXXX)
LOGDIR=${LOGDIR:-$WORK/logs}
mkdir -p "$LOGDIR"
SOCK=$WORK/containerd.sock
NS=berth-eng
CTR=(ctr -a "$SOCK" -n "$NS")
IMG=localhost/$IMG_TAG:latest
RUNC=(--runc-binary "$BERTH")
daemon_pid= events_pid=

cleanup() {
	# containers and images live under WORK, removed below with it
	[[ -z $events_pid ]] || kill "$events_pid" 2>/dev/null
	containerd_stop "${CTR[@]}"
	tmux_ kill-server 2>/dev/null
	umount_under "$WORK"
	cgroup_cleanup "$NS"
	rm -rf "$WORK"
}
trap cleanup EXIT

if ! containerd_start "$WORK" <<<'disabled_plugins = ["io.containerd.grpc.v1.cri"]'; then
	echo "containerd did not start"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
"${CTR[@]}" events >"$WORK/events.log" 2>&1 &
events_pid=$!
mk_oci_archive "$WORK" "$IMG"
if ! "${CTR[@]}" image import "$WORK/image.tar" >&2; then
	echo "ctr image import failed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

# a new container id (runs in a command substitution: the subshell's pid makes it unique)
cid() { echo "c$BASHPID-$RANDOM"; }
k_run() { "${CTR[@]}" run "${RUNC[@]}" "$@"; }
k_rm() {
	set +e # runs from EXIT traps: the scenario's verdict is already made
	"${CTR[@]}" task kill -s SIGKILL "$1" >/dev/null 2>&1
	retry 5 k_gone "$1"
	"${CTR[@]}" task rm -f "$1" >/dev/null 2>&1
	"${CTR[@]}" c rm "$1" >/dev/null 2>&1 || true
}
k_status() { "${CTR[@]}" task ls | awk -v c="$1" '$1 == c {print $3}'; }
k_stopped() { [[ $(k_status "$1") == STOPPED ]]; }
k_gone() { [[ $(k_status "$1") == @(STOPPED|) ]]; }
k_pid() { "${CTR[@]}" task ls | awk -v c="$1" '$1 == c {print $2}'; }
k_daemon() {
	local id=$1
	shift
	k_run -d "$@" "$IMG" "$id" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
}
# exit_event ID: the exit_status of ID's last /tasks/exit event
exit_event() {
	local line
	line=$(grep '/tasks/exit' "$WORK/events.log" | grep "\"container_id\":\"$1\",\"id\":\"$1\"" |
		tail -n1)
	[[ -n $line ]] || return 0
	[[ $line == *'"exit_status":'* ]] || { echo 0; return 0; } # protobuf omits zeroes
	sed -n 's/.*"exit_status":\([0-9]*\).*/\1/p' <<<"$line"
}
has_exit_event() { [[ -n $(exit_event "$1") ]]; }

s_run_rm_echo() {
	local out
	out=$(k_run --rm "$IMG" "$(cid)" echo hello from berth)
	expect_eq output "$out" "hello from berth"
}

s_detach_exec_kill_rm() {
	local id out
	id=$(cid)
	trap "k_rm $id" EXIT
	k_daemon "$id"
	expect_eq status "$(k_status "$id")" RUNNING
	out=$("${CTR[@]}" task exec --exec-id e1 "$id" echo exec-ok)
	expect_eq "exec output" "$out" exec-ok
	out=$("${CTR[@]}" task exec --exec-id e2 "$id" sh -c 'exit 7') || expect_eq "exec exit" $? 7
	"${CTR[@]}" task kill "$id"
	retry 10 k_stopped "$id" || fail "not stopped after SIGTERM"
	retry 5 has_exit_event "$id" || fail "no exit event: $(grep exit "$WORK/events.log" | tail -n 2)"
	expect_eq "exit status" "$(exit_event "$id")" 0
	"${CTR[@]}" task rm "$id"
	"${CTR[@]}" c rm "$id"
	! "${CTR[@]}" c info "$id" >/dev/null 2>&1 || fail "container still there"
}

s_exec_env_user_cwd() {
	local id out
	id=$(cid)
	trap "k_rm $id" EXIT
	k_daemon "$id" --env FOO=bar
	out=$("${CTR[@]}" task exec --exec-id e1 --user 1000 --cwd /tmp "$id" \
		sh -c 'echo $FOO $(id -u) $(pwd)')
	expect_eq "exec env/user/cwd" "$out" "bar 1000 /tmp"
}

s_run_it_tmux() {
	local s=it-$$ id
	id=$(cid)
	tmux_ new-session -d -s "$s" -x 100 -y 30 \
		"$(printf '%q ' "${CTR[@]}" run "${RUNC[@]}" -t --rm "$IMG" "$id" sh); echo exited-\$?; sleep 30"
	trap "tmux_ kill-session -t $s 2>/dev/null || true; k_rm $id" EXIT
	interactive "$s"
}

s_exec_t_tmux() {
	local s=ex-$$ id
	id=$(cid)
	k_daemon "$id"
	tmux_ new-session -d -s "$s" -x 100 -y 30 \
		"$(printf '%q ' "${CTR[@]}" task exec -t --exec-id tty "$id" sh); echo exited-\$?; sleep 30"
	trap "tmux_ kill-session -t $s 2>/dev/null || true; k_rm $id" EXIT
	interactive "$s"
}

s_exit_codes() {
	local rc=0
	k_run --rm "$IMG" "$(cid)" sh -c 'exit 42' || rc=$?
	expect_eq "exit code" $rc 42
	rc=0
	k_run --rm "$IMG" "$(cid)" /nonexistent 2>/dev/null || rc=$?
	((rc != 0)) || fail "missing binary: exit 0"
}

s_kill_signal() {
	local id
	id=$(cid)
	trap "k_rm $id" EXIT
	k_run -d "$IMG" "$id" sh -c 'trap "echo usr1 >/tmp/got" USR1; while :; do sleep 0.1; done'
	"${CTR[@]}" task kill -s SIGUSR1 "$id"
	retry 5 "${CTR[@]}" task exec --exec-id "t$RANDOM" "$id" test -f /tmp/got ||
		fail "SIGUSR1 not delivered"
	"${CTR[@]}" task kill -s SIGKILL "$id"
	retry 10 k_stopped "$id" || fail "not stopped after SIGKILL"
	retry 5 has_exit_event "$id" || fail "no exit event: $(grep exit "$WORK/events.log" | tail -n 2)"
	expect_eq "exit status" "$(exit_event "$id")" 137
}

s_pause_resume() {
	local id a b
	id=$(cid)
	trap "k_rm $id" EXIT
	k_run -d "$IMG" "$id" sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done'
	"${CTR[@]}" task pause "$id"
	expect_eq status "$(k_status "$id")" PAUSED
	"${CTR[@]}" task resume "$id"
	expect_eq status "$(k_status "$id")" RUNNING
	a=$("${CTR[@]}" task exec --exec-id e1 "$id" cat /tmp/n)
	sleep 0.3
	b=$("${CTR[@]}" task exec --exec-id e2 "$id" cat /tmp/n)
	((b > a)) || fail "counter did not move after resume ($a -> $b)"
}

s_memory_oom() {
	local id rc=0
	id=$(cid)
	k_run --rm --memory-limit $((32 << 20)) "$IMG" "$id" \
		sh -c 'exec dd if=/dev/zero of=/dev/null bs=256M count=1' || rc=$?
	expect_eq "exit code" $rc 137
	retry 5 grep -q "/tasks/oom.*\"container_id\":\"$id\"" "$WORK/events.log" ||
		fail "no /tasks/oom event"
}

s_cpus() {
	local id pid q p
	id=$(cid)
	trap "k_rm $id" EXIT
	k_daemon "$id" --cpus 0.5
	pid=$(k_pid "$id")
	if q=$(host_cgroup_file "$pid" cpu cpu.cfs_quota_us 2>/dev/null); then
		p=$(host_cgroup_file "$pid" cpu cpu.cfs_period_us)
		expect_eq "quota/period" "$((q * 100 / p))" 50
	else
		q=$(host_cgroup_file "$pid" cpu cpu.max)
		set -- $q
		expect_eq "cpu.max" "$(($1 * 100 / $2))" 50
	fi
}

s_network_none() {
	local out
	out=$(k_run --rm "$IMG" "$(cid)" sh -c 'ls /sys/class/net | tr "\n" " "')
	expect_eq "interfaces" "$out" "lo "
}

s_read_only() {
	local out rc=0
	out=$(k_run --rm --read-only "$IMG" "$(cid)" sh -c 'touch /etc/x' 2>&1) || rc=$?
	((rc != 0)) || fail "wrote to a read-only root"
	expect_match "error" "$out" "Read-only file system"
}

s_caps() {
	local out rc=0
	out=$(k_run --rm --cap-add CAP_SYS_ADMIN "$IMG" "$(cid)" grep CapEff /proc/self/status)
	set -- $out
	(((0x$2 >> 21) & 1)) || fail "CAP_SYS_ADMIN not added: $out"
	out=$(k_run --rm --cap-drop CAP_CHOWN "$IMG" "$(cid)" chown 1000 /tmp 2>&1) || rc=$?
	((rc != 0)) || fail "chown worked without CAP_CHOWN"
}

s_seccomp() {
	local out rc=0
	seccomp_profile "$WORK/seccomp.json"
	out=$(k_run --rm --seccomp --seccomp-profile "$WORK/seccomp.json" "$IMG" "$(cid)" \
		mkdir /tmp/d 2>&1) || rc=$?
	((rc != 0)) || fail "mkdir allowed"
	expect_match "error" "$out" "Operation not permitted"
}

s_ps() {
	local id out pid
	id=$(cid)
	trap "k_rm $id" EXIT
	k_run -d "$IMG" "$id" sleep 1000
	pid=$(k_pid "$id")
	out=$("${CTR[@]}" task ps "$id")
	expect_match "task ps" "$out" "(^|[[:space:]])$pid([[:space:]]|$)"
}

s_metrics() {
	local id out
	id=$(cid)
	trap "k_rm $id" EXIT
	k_daemon "$id" --memory-limit $((64 << 20))
	out=$("${CTR[@]}" task metrics "$id")
	expect_match "metrics" "$out" "memory.usage_in_bytes|memory.usage"
	expect_match "metrics" "$out" "67108864"
}

scenario run-rm-echo s_run_rm_echo
scenario run-d-exec-kill-rm s_detach_exec_kill_rm
scenario exec-env-user-cwd s_exec_env_user_cwd
scenario run-t-tmux s_run_it_tmux
scenario exec-t-tmux s_exec_t_tmux
scenario exit-codes s_exit_codes
scenario kill-signal s_kill_signal
scenario pause-resume s_pause_resume
scenario memory-oom s_memory_oom
scenario pids-limit skip "ctr has no pids limit option (docker --pids-limit covers it through containerd)"
scenario cpus s_cpus
scenario network-none s_network_none
scenario bridge-publish skip "ctr has no networks or published ports (docker's bridge covers containerd)"
scenario read-only s_read_only
scenario cap-drop-add s_caps
scenario seccomp s_seccomp
scenario ps s_ps
scenario metrics s_metrics
scenario update skip "ctr has no update command (docker update goes through containerd's shim)"
finish
