#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Rootless podman (+ conmon, slirp4netns, fuse-overlayfs) with berth as its runtime:
# a user made for the run (its own /etc/subuid and /etc/subgid range) runs podman,
# which runs the runtime in its own user namespace, as uid 0 without privileges.
# All podman state (storage, run root, XDG_RUNTIME_DIR, containers.conf, events) is
# under a temporary directory. Each scenario runs with runc first, the reference, and
# then with berth; berth's result is the verdict, runc's is shown after it.
set -uo pipefail
ENGINE=podman-rootless
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dockerlike.sh"

if ! need_pkgs podman conmon runc uidmap slirp4netns fuse-overlayfs curl; then
	echo "tests/engines/podman-rootless.sh: apt-get install of podman's rootless packages failed" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

WORK=$(mktemp -d /tmp/berth-podman-rl.XXXXXX)
chmod 755 "$WORK"
LOGDIR=${LOGDIR:-$WORK/logs}
mkdir -p "$LOGDIR"
IMG=localhost/$IMG_TAG:latest
RUSER=berth-rl-$$
ruid="" rsub="" gone_uid=""

# free_subid_base: the start of a 65536-id range no line of /etc/subuid or
# /etc/subgid overlaps
free_subid_base() {
	local base
	while :; do
		base=$(((RANDOM % 59000 + 1000) * 65536))
		awk -F: -v b="$base" 'NF == 3 && $2 + 0 < b + 65536 && $2 + $3 > b { bad = 1 } END { exit bad }' \
			/etc/subuid /etc/subgid 2>/dev/null && break
	done
	echo "$base"
}

# the user's live processes: its own uid, and those of its subordinate range (containers)
user_pids() {
	[[ -n $ruid ]] || return 0
	ps -e -o pid= -o uid= -o stat= | awk -v u="$ruid" -v s="$rsub" \
		'$3 !~ /^Z/ && ($2 == u || (s != "" && $2 >= s && $2 < s + 65536)) { print $1 }'
}

cleanup() {
	local pid
	set +e
	if [[ -n $ruid ]]; then
		pm rm -af -t 0 >/dev/null 2>&1
		pm system reset -f >/dev/null 2>&1
		# the pause process podman keeps (its user and mount namespace, where the
		# fuse-overlayfs mounts live), conmon, slirp4netns, rootlessport: by PID
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			pid=$(user_pids)
			[[ -n $pid ]] || break
			# shellcheck disable=SC2086
			kill -KILL $pid 2>/dev/null
			sleep 0.2
		done
		userdel -f "$RUSER" >/dev/null 2>&1
		gone_uid=$ruid ruid=
	fi
	umount_under "$WORK"
	rm -rf "$WORK"
	return 0
}
trap cleanup EXIT

# the user, its subordinate ids, its home and runtime dir (0700) under WORK
useradd -M -N -d "$WORK/home" -s /bin/false "$RUSER" ||
	{ echo "useradd failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
ruid=$(id -u "$RUSER") rgid=$(id -g "$RUSER")
rsub=$(free_subid_base)
usermod --add-subuids "$rsub-$((rsub + 65535))" --add-subgids "$rsub-$((rsub + 65535))" "$RUSER" ||
	{ echo "usermod --add-subuids failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
mkdir -p "$WORK/home" "$WORK/xdg" "$WORK/conf"
chmod 700 "$WORK/xdg"
chown "$ruid:$rgid" "$WORK/home" "$WORK/xdg"
podman_conf "$WORK/conf"
chown -R "$ruid:$rgid" "$WORK/conf"
# podman's rootless default is slirp4netns; the CNI settings of podman_conf are unused

# pm ARGS...: podman as the user, with the runtime $RT, all state under WORK; its
# working directory is the user's home (conmon writes an "oom" file there)
RT=$BERTH
pm() {
	setpriv --reuid="$ruid" --regid="$rgid" --clear-groups -- \
		env -i -C "$WORK/home" HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/xdg" \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		CONTAINERS_CONF="$CONTAINERS_CONF" \
		podman --root "$WORK/home/storage" --runroot "$WORK/xdg/run" \
		--storage-driver overlay --storage-opt overlay.mount_program=/usr/bin/fuse-overlayfs \
		--cgroup-manager cgroupfs --events-backend file --runtime "$RT" "$@"
}
E=(pm)
RUN=(run)
RM=(rm -f -t 0)

# a host's / is shared (systemd makes it so; rootless podman warns otherwise): so is
# the copy in the mount namespace tests/engines/run made, where nothing leaves it
[[ $(readlink /proc/self/ns/mnt) == "$(readlink /proc/1/ns/mnt)" ]] || mount --make-rshared /
mk_rootfs_tar "$WORK"
chmod 644 "$WORK/busybox.tar"
pm import -q "$WORK/busybox.tar" "$IMG" >/dev/null || {
	echo "podman import as $RUSER failed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}

# versus_runc NAME FUNC [ARGS...]: FUNC with runc as the runtime (the reference; its
# log is $LOGDIR/NAME.runc.log), then the scenario NAME with berth, runc's result
# after it
versus_runc() {
	local name=$1 rc note
	shift
	[[ -z ${ONLY:-} || $name =~ $ONLY ]] || return 0
	(RT=runc; set -eo pipefail; "$@") >"$LOGDIR/$name.runc.log" 2>&1
	rc=$?
	case $rc in
	0) note="[runc: ok]" ;;
	"$SKIP") note="[runc: skip]" ;;
	*) note="[runc: FAIL exit $rc: $(grep -v '^$' "$LOGDIR/$name.runc.log" | tail -n1)]" ;;
	esac
	RT=$BERTH SCENARIO_NOTE=$note scenario "$name" "$@"
}

# the runtime podman recorded for container $1 is $RT
check_runtime() {
	expect_eq "runtime of $1" "$(pm inspect -f '{{.OCIRuntime}}' "$1")" "$RT"
}

s_echo() {
	expect_eq output "$(c_run --rm "$IMG" echo hi)" hi
}

s_exec() {
	local id out
	id=$(c_daemon)
	trap "c_rm $id" EXIT
	check_runtime "$id"
	out=$(pm exec "$id" sh -c 'echo in $(cat /proc/1/comm)')
	expect_eq "exec output" "$out" "in sh"
	out=$(pm exec "$id" awk '$5 == "/" { for (i = 7; $i != "-"; i++); print $(i + 1); exit }' \
		/proc/self/mountinfo)
	expect_eq "root filesystem" "$out" fuse.fuse-overlayfs
}

s_publish() {
	local id port=18081 dir=$WORK/www-$RANDOM
	[[ $RT == "$BERTH" ]] || port=18082
	mkdir -p "$dir"
	echo "page-$port" >"$dir/index.html"
	chmod -R a+rX "$dir"
	id=$(c_run -d -p "$port:80" -v "$dir:/www:ro" "$IMG" httpd -f -p 80 -h /www)
	trap "c_rm $id" EXIT
	check_runtime "$id"
	expect_eq network "$(pm inspect -f '{{.HostConfig.NetworkMode}}' "$id")" slirp4netns
	retry 15 curl -sf -o "$dir.out" "http://127.0.0.1:$port/" || fail "nothing on host port $port"
	expect_eq "page from host side" "$(cat "$dir.out")" "page-$port"
}

s_volume() {
	local dir=$WORK/home/vol-$RANDOM
	mkdir "$dir"
	chown "$ruid:$rgid" "$dir"
	c_run --rm -v "$dir:/data" "$IMG" sh -c 'echo written-in >/data/f; id -u >/data/uid'
	expect_eq "file on host" "$(cat "$dir/f")" written-in
	expect_eq "container uid" "$(cat "$dir/uid")" 0
	expect_eq "owner on host" "$(stat -c %u "$dir/f")" "$ruid"
}

s_stop() {
	local id start
	# sh as pid 1 ignores SIGTERM: stop kills it after 2 s
	id=$(c_run -d "$IMG" sh -c 'while :; do sleep 0.1; done')
	trap "c_rm $id" EXIT
	check_runtime "$id"
	expect_eq state "$(c_state "$id")" running
	start=$SECONDS
	pm stop -t 2 "$id" >/dev/null
	((SECONDS - start < 15)) || fail "stop took $((SECONDS - start)) s"
	expect_eq "state after stop" "$(c_state "$id")" exited
	pm rm "$id" >/dev/null
}

s_keep_id() {
	expect_eq "id -u" "$(c_run --rm --userns=keep-id "$IMG" id -u)" "$ruid"
}

# after the cleanup: no process of the user, no mount under WORK, no subuid line
s_nothing_left() {
	local left
	left=$(ruid=$gone_uid user_pids)
	expect_eq "processes left" "$left" ""
	left=$(awk -v d="$WORK" 'index($5, d) == 1' /proc/self/mountinfo)
	expect_eq "mounts left" "$left" ""
	left=$(grep -h "^$RUSER:" /etc/subuid /etc/subgid /etc/passwd || true)
	expect_eq "lines left" "$left" ""
	[[ ! -e $WORK ]] || fail "$WORK left"
}

versus_runc echo s_echo
versus_runc exec s_exec
versus_runc publish s_publish
versus_runc volume s_volume
versus_runc stop s_stop
versus_runc keep-id s_keep_id
cleanup
LOGDIR=$(mktemp -d /tmp/berth-podman-rl-logs.XXXXXX)
scenario nothing-left s_nothing_left
rm -rf "$LOGDIR"
finish
