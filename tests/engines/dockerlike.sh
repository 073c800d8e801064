# SPDX-License-Identifier: LGPL-2.1-or-later
# The scenarios of the docker-compatible CLIs (podman, docker), sourced after lib.sh.
# The caller sets E (the CLI and its global options, as an array), RUN (the run
# verb with the options that choose berth), IMG and WORK.

c_run() { "${E[@]}" "${RUN[@]}" "$@"; }
c_pid() { "${E[@]}" inspect -f '{{.State.Pid}}' "$1"; }
c_state() { "${E[@]}" inspect -f '{{.State.Status}}' "$1"; }
c_rm() {
	set +e # runs from EXIT traps: the scenario's verdict is already made
	"${E[@]}" "${RM[@]}" "$@" >/dev/null 2>&1
	return 0
}
# a container that keeps running and stops on SIGTERM
c_daemon() {
	c_run -d "$@" "$IMG" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
}

s_run_rm_echo() {
	local out
	out=$(c_run --rm "$IMG" echo hello from berth)
	expect_eq output "$out" "hello from berth"
}

s_detach_exec_stop_rm() {
	local id out
	id=$(c_daemon)
	trap "c_rm $id" EXIT
	expect_eq state "$(c_state "$id")" running
	out=$("${E[@]}" exec "$id" cat /etc/hostname)
	[[ -n $out ]] || fail "exec printed nothing"
	out=$("${E[@]}" exec "$id" sh -c 'exit 7') || expect_eq "exec exit" $? 7
	"${E[@]}" stop -t 5 "$id"
	expect_eq "state after stop" "$(c_state "$id")" exited
	expect_eq "exit code" "$("${E[@]}" inspect -f '{{.State.ExitCode}}' "$id")" 0
	"${E[@]}" rm "$id"
	! "${E[@]}" inspect "$id" >/dev/null 2>&1 || fail "still there after rm"
}

s_exec_env_user_cwd() {
	local id out
	id=$(c_daemon)
	trap "c_rm $id" EXIT
	out=$("${E[@]}" exec -e FOO=bar -u 1000:1000 -w /tmp "$id" sh -c 'echo $FOO $(id -u) $(id -g) $(pwd)')
	expect_eq "exec env/user/cwd" "$out" "bar 1000 1000 /tmp"
	out=$("${E[@]}" exec -u user "$id" sh -c 'echo $(id -un) $HOME')
	expect_eq "exec named user" "$out" "user /home/user"
}

s_run_it_tmux() {
	local s=it-$$
	tmux_ new-session -d -s "$s" -x 100 -y 30 \
		"$(printf '%q ' "${E[@]}" "${RUN[@]}" -it --rm "$IMG" sh); echo exited-\$?; sleep 30"
	trap "tmux_ kill-session -t $s 2>/dev/null || true" EXIT
	interactive "$s"
}

s_exec_it_tmux() {
	local s=ex-$$ id
	id=$(c_daemon)
	tmux_ new-session -d -s "$s" -x 100 -y 30 \
		"$(printf '%q ' "${E[@]}" exec -it "$id" sh); echo exited-\$?; sleep 30"
	trap "tmux_ kill-session -t $s 2>/dev/null || true; c_rm $id" EXIT
	interactive "$s"
}

s_exit_codes() {
	local rc=0
	c_run --rm "$IMG" sh -c 'exit 42' || rc=$?
	expect_eq "exit code" $rc 42
	rc=0
	c_run --rm "$IMG" /nonexistent || rc=$?
	((rc == 127 || rc == 126)) || fail "missing binary: exit $rc, want 127 or 126"
}

s_kill_signal() {
	local id
	id=$(c_run -d "$IMG" sh -c 'trap "echo usr1 >/tmp/got" USR1; while :; do sleep 0.1; done')
	trap "c_rm $id" EXIT
	"${E[@]}" kill -s USR1 "$id" >/dev/null
	retry 5 "${E[@]}" exec "$id" test -f /tmp/got || fail "SIGUSR1 not delivered"
	"${E[@]}" kill -s KILL "$id" >/dev/null
	retry 10 bash -c '[[ $("$@") == exited ]]' _ "${E[@]}" inspect -f '{{.State.Status}}' "$id" ||
		fail "not exited after SIGKILL"
	expect_eq "exit code" "$("${E[@]}" inspect -f '{{.State.ExitCode}}' "$id")" 137
}

s_pause_unpause() {
	local id a b
	id=$(c_run -d "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done')
	trap "c_rm $id" EXIT
	"${E[@]}" pause "$id" >/dev/null
	expect_eq state "$(c_state "$id")" paused
	a=$(cat "/proc/$(c_pid "$id")/status" | grep ^State:)
	[[ $a == *"(sleeping)"* || $a == *"(stopped)"* || $a == *D* ]] || true
	"${E[@]}" unpause "$id" >/dev/null
	expect_eq state "$(c_state "$id")" running
	a=$("${E[@]}" exec "$id" cat /tmp/n)
	sleep 0.3
	b=$("${E[@]}" exec "$id" cat /tmp/n)
	((b > a)) || fail "counter did not move after unpause ($a -> $b)"
}

s_memory_oom() {
	local id
	id=$(c_run -d --memory 32m --memory-swap 32m "$IMG" \
		sh -c 'exec dd if=/dev/zero of=/dev/null bs=256M count=1')
	trap "c_rm $id" EXIT
	retry 20 bash -c '[[ $("$@") == exited ]]' _ "${E[@]}" inspect -f '{{.State.Status}}' "$id" ||
		fail "did not exit"
	expect_eq "exit code" "$("${E[@]}" inspect -f '{{.State.ExitCode}}' "$id")" 137
	[[ -z ${OOM_UNREPORTED:-} ]] || skip "killed (exit 137), but $OOM_UNREPORTED"
	expect_eq OOMKilled "$("${E[@]}" inspect -f '{{.State.OOMKilled}}' "$id")" true
}

s_pids_limit() {
	local out
	out=$(c_run --rm --pids-limit 8 "$IMG" sh -c \
		'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait' 2>&1) || true
	expect_match "forks beyond the limit" "$out" "fork|Resource temporarily unavailable"
}

s_cpus() {
	local id
	id=$(c_daemon --cpus 0.5)
	trap "c_rm $id" EXIT
	local pid q p
	pid=$(c_pid "$id")
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
	out=$(c_run --rm --network none "$IMG" sh -c 'ls /sys/class/net | tr "\n" " "')
	expect_eq "interfaces" "$out" "lo "
}

# the engine's own bridge network, a port published on the host's loopback
s_bridge_publish() {
	local id out port=$((20000 + RANDOM % 20000))
	id=$(c_run -d -p "127.0.0.1:$port:8080" "$IMG" sh -c \
		'mkdir -p /www && echo served-by-berth >/www/index.html && exec httpd -f -p 8080 -h /www')
	trap "c_rm $id" EXIT
	out=$(c_pid "$id")
	"${E[@]}" exec "$id" ip -o -4 addr show eth0 | grep -q inet || fail "no eth0 address"
	retry 10 curl -sf -o "$WORK/publish.out" "http://127.0.0.1:$port/index.html" ||
		fail "port $port not reachable"
	expect_eq "served" "$(cat "$WORK/publish.out")" served-by-berth
}

s_read_only() {
	local out rc=0
	out=$(c_run --rm --read-only "$IMG" sh -c 'touch /etc/x' 2>&1) || rc=$?
	((rc != 0)) || fail "wrote to a read-only root"
	expect_match "error" "$out" "Read-only file system"
	out=$(c_run --rm --read-only "$IMG" sh -c 'touch /tmp/x && echo tmp-ok' 2>&1) || true
	[[ $out == tmp-ok ]] || echo "note: /tmp is not writable with --read-only: $out"
}

s_caps() {
	local out rc=0
	out=$(c_run --rm --cap-drop ALL --cap-add NET_RAW --cap-add CHOWN "$IMG" grep CapEff /proc/self/status)
	expect_eq CapEff "$(echo $out)" "CapEff: 0000000000002001"
	out=$(c_run --rm --cap-drop CHOWN "$IMG" chown 1000 /tmp 2>&1) || rc=$?
	((rc != 0)) || fail "chown worked without CAP_CHOWN"
}

s_seccomp() {
	local out rc=0
	seccomp_profile "$WORK/seccomp.json"
	out=$(c_run --rm --security-opt "seccomp=$WORK/seccomp.json" "$IMG" mkdir /tmp/d 2>&1) || rc=$?
	((rc != 0)) || fail "mkdir allowed"
	expect_match "error" "$out" "Operation not permitted"
	out=$(c_run --rm --security-opt "seccomp=$WORK/seccomp.json" "$IMG" sh -c 'touch /tmp/f && echo ok')
	expect_eq "other syscalls" "$out" ok
}

s_top() {
	local id out
	id=$(c_run -d "$IMG" sleep 1000)
	trap "c_rm $id" EXIT
	out=$("${E[@]}" top "$id")
	expect_match "top" "$out" "sleep 1000"
}

s_stats() {
	local id out
	id=$(c_daemon --memory 64m)
	trap "c_rm $id" EXIT
	out=$("${E[@]}" stats --no-stream --format '{{.MemUsage}}' "$id")
	expect_match "mem usage" "$out" "[0-9.]+ ?[kKMG]i?B / 6[47]"
}

s_update() {
	local id pid
	id=$(c_daemon --memory 64m --memory-swap 64m --cpus 1)
	trap "c_rm $id" EXIT
	"${E[@]}" update --memory 96m --memory-swap 96m --cpus 0.5 "$id" >/dev/null
	pid=$(c_pid "$id")
	expect_eq "memory limit" "$(host_cgroup_file "$pid" memory memory.limit_in_bytes 2>/dev/null ||
		host_cgroup_file "$pid" memory memory.max)" $((96 << 20))
	expect_eq "cpu quota" "$(host_cgroup_file "$pid" cpu cpu.cfs_quota_us 2>/dev/null ||
		host_cgroup_file "$pid" cpu cpu.max | cut -d' ' -f1)" 50000
}

dockerlike_scenarios() {
	scenario run-rm-echo s_run_rm_echo
	scenario run-d-exec-stop-rm s_detach_exec_stop_rm
	scenario exec-env-user-cwd s_exec_env_user_cwd
	scenario run-it-tmux s_run_it_tmux
	scenario exec-it-tmux s_exec_it_tmux
	scenario exit-codes s_exit_codes
	scenario kill-signal s_kill_signal
	scenario pause-unpause s_pause_unpause
	scenario memory-oom s_memory_oom
	scenario pids-limit s_pids_limit
	scenario cpus s_cpus
	scenario network-none s_network_none
	scenario bridge-publish s_bridge_publish
	scenario read-only s_read_only
	scenario cap-drop-add s_caps
	scenario seccomp s_seccomp
	scenario top s_top
	scenario stats s_stats
	scenario update s_update
}
