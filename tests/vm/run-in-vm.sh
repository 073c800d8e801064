#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-in-vm.sh [OPTIONS] [--] COMMAND [ARG...]: run COMMAND as root in a
# throwaway VM with a pure cgroup v2 kernel, or one with cgroup v1 only
# (--cgroup v1) or the hybrid layout (--cgroup hybrid), Debian's
# linux-image-amd64 under qemu TCG, and exit with its status. The guest sees
# the host's root read-only under a tmpfs overlay, fresh tmpfs on /tmp and
# /run, the repository (and any --share DIR) read-write at the same path, and
# starts in the current directory. COMMAND's stdout and stderr come back on ours; kernel messages go
# to the console log (--log). Run as root on the host (Debian 12).
#
# Options:
#   --share DIR     also share DIR read-write (repeatable; the repository always is)
#   --cgroup v2|v1|hybrid  v2 (default): cgroup2 at /sys/fs/cgroup with
#                   every controller, no v1 hierarchy (cgroup_no_v1=all); v1:
#                   a tmpfs at /sys/fs/cgroup with one v1 hierarchy per
#                   controller (cpu,cpuacct and net_cls,net_prio co-mounted)
#                   and name=systemd, no cgroup2; hybrid (systemd's hybrid
#                   mode): the v1 layout plus cgroup2 (nsdelegate) at
#                   /sys/fs/cgroup/unified, without controllers (tests/vm/init)
#   --init systemd  boot systemd (the host's /lib/systemd/systemd) as PID 1, with
#                   cgroup2 mounted by systemd, journald, udev and the system
#                   D-Bus; COMMAND runs in berth-vm.service (tests/vm/init)
#   -e, --env NAME[=VALUE]  pass NAME (from our environment, or VALUE) to COMMAND
#   --timeout SEC   kill the VM after SEC seconds (default 900; exit status 124);
#                   90 s before, the guest lists its processes on stderr (stage2)
#   --log FILE      write the kernel console to FILE (default: a temporary file,
#                   whose tail is shown if the VM fails)
#   --mem MB, --smp N      guest size (default 2048 MB, 2 CPUs)
#   --kernel VERSION       the kernel under /boot and /lib/modules (default: the
#                          one linux-image-amd64 depends on, else the newest)
#   --prepare       install what is missing, build the cached kernel and
#                   initramfs, and exit
#   --packages      print the Debian packages the VM needs, one a line, and exit
#
# Exit status: COMMAND's, 124 on timeout, 125 if the VM could not run it.
# The cache (uncompressed vmlinux, initramfs) is in $BERTH_VM_CACHE, default
# /var/cache/berth-vm. Inside the VM, BERTH_IN_VM=1 and TMPDIR=/tmp; keep FIFOs,
# sockets and device nodes under /tmp or /run (9p refuses them: ENXIO).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

say() { printf 'run-in-vm: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 125
}
usage() {
	sed -n '/^# run-in-vm.sh/,/^# sockets/s/^# \{0,1\}//p' "$0" >&2
	exit 125
}

# what the VM needs on the host
# (dbus-user-session and libpam-systemd: a user's systemd with its bus, and login
# sessions; criu: checkpoint/restore, which Debian's criu 3.17 does only on the VM's
# kernel, with iptables (its default) or nftables for its network lock
# (--tcp-established); the engines: tests/vm/test_vm_systemd_engines.py,
# test_vm_criu_podman.py)
pkgs=(qemu-system-x86 linux-image-amd64 busybox-static xz-utils cpio systemd dbus
	dbus-user-session libpam-systemd criu iptables nftables podman conmon runc docker.io containerd)
shares=("$repo")
envs=()
timeout=${BERTH_VM_TIMEOUT:-900}
log=
mem=2048
smp=2
kver=${BERTH_VM_KERNEL:-}
prepare_only=0
cgroup=v2
init=busybox
while (($#)); do
	case $1 in
	--share) shares+=("$(realpath -e -- "${2:?--share needs a directory}")") || exit 125; shift ;;
	-e | --env) envs+=("${2:?--env needs a name}"); shift ;;
	--cgroup) cgroup=${2:?--cgroup needs v1, v2 or hybrid}; shift ;;
	--init) init=${2:?--init needs systemd or busybox}; shift ;;
	--timeout) timeout=${2:?}; shift ;;
	--log) log=${2:?}; shift ;;
	--mem) mem=${2:?}; shift ;;
	--smp) smp=${2:?}; shift ;;
	--kernel) kver=${2:?}; shift ;;
	--prepare) prepare_only=1 ;;
	--packages) printf '%s\n' "${pkgs[@]}"; exit 0 ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) say "unknown option '$1'"; usage ;;
	*) break ;;
	esac
	shift
done
((prepare_only || $#)) || usage
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout: '$timeout' is not a number of seconds"
[[ $cgroup == v1 || $cgroup == v2 || $cgroup == hybrid ]] ||
	die "--cgroup: '$cgroup' is not v1, v2 or hybrid"
[[ $init == systemd || $init == busybox ]] || die "--init: '$init' is neither systemd nor busybox"
[[ $init == busybox || $cgroup == v2 ]] || die "--init systemd boots with cgroup v2 only"
[[ $(id -u) == 0 ]] || die "must run as root (the guest's root is the host's, read-only)"

# -- what the VM needs on the host (a kernel's postinst may fail on a machine
# without a boot loader: going on if the kernel and qemu are there)
source "$repo/tests/lib/apt.sh"
apt_install "${pkgs[@]}" || say "apt could not install everything; going on if the kernel and qemu are there"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (qemu-system-x86)"
[[ -x /bin/busybox ]] || die "/bin/busybox is missing (busybox-static)"

# -- the guest kernel: never the host's running one, which may lack modules here
if [[ -z $kver ]]; then
	kver=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
		grep -o 'linux-image-[^ ,]*' | head -n1 | sed 's/^linux-image-//')
	if [[ -z $kver || ! -f /boot/vmlinuz-$kver ]]; then
		kver=$(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' |
			sort -V | tail -n1)
	fi
fi
bzimage=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[[ -n $kver && -f $bzimage ]] || die "no kernel in /boot (apt-get install linux-image-amd64)"
[[ -f $moddir/modules.dep ]] || die "'$moddir/modules.dep' is missing"

cache=${BERTH_VM_CACHE:-/var/cache/berth-vm}
mkdir -p "$cache" || die "cannot create the cache '$cache'"

# vmlinux: the XZ payload of the bzImage, booted through its PVH entry point
# (about 3 s faster under TCG than letting the bzImage decompress itself).
# Any failure falls back to the bzImage.
kernel_image() {
	# Keyed on the bzImage's size and time: a rebuilt package may keep the version.
	local out off tmp
	out=$cache/vmlinux-$kver-$(stat -c %s-%Y "$bzimage") || die "stat '$bzimage'"
	if [[ -s $out ]]; then
		echo "$out"
		return
	fi
	if [[ ! -e $out.none ]] && grep -qx 'CONFIG_PVH=y' "/boot/config-$kver" 2>/dev/null; then
		tmp=$(mktemp "$cache/tmp-vmlinux.XXXXXX") || die "mktemp in '$cache'"
		while read -r off; do
			# xz stops reading at the end of the stream: ignore tail's SIGPIPE.
			if { tail -c +$((off + 1)) "$bzimage" || :; } |
				xz -dc --single-stream >"$tmp" 2>/dev/null &&
				[[ $(head -c4 "$tmp" | od -An -c | tr -d ' ') == '177ELF' ]]; then
				rm -f "$cache/vmlinux-$kver-"*
				chmod 0644 "$tmp" && mv "$tmp" "$out"
				echo "$out"
				return
			fi
		done < <(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bzimage" | cut -d: -f1)
		rm -f "$tmp"
		say "no XZ-compressed ELF in '$bzimage'; booting the bzImage (slower)"
	fi
	: >"$out.none"
	echo "$bzimage"
}

# Modules to load in the initramfs, each after its dependencies (modules.dep).
initrd_modules=(virtio_pci 9pnet_virtio 9p overlay veth bridge)
declare -A mod_seen=()
mod_order=()
mod_path() { # module name -> path relative to $moddir
	local re=${1//[-_]/[-_]}
	grep -m1 -E "(^|/)${re}\.ko(\.xz|\.zst|\.gz)?:" "$moddir/modules.dep" | cut -d: -f1
}
mod_add() { # path relative to $moddir, its dependencies first
	local p=$1 dep
	[[ -n ${mod_seen[$p]:-} ]] && return
	mod_seen[$p]=1
	for dep in $(grep -m1 -F "$p:" "$moddir/modules.dep" | cut -d: -f2-); do
		mod_add "$dep"
	done
	mod_order+=("$p")
}

initramfs_image() {
	local m p tmp name hash out
	for m in "${initrd_modules[@]}"; do
		p=$(mod_path "$m")
		if [[ -z $p ]]; then
			# Built in, or absent: the guest's init says which if it matters.
			grep -q "/$m.ko" "$moddir/modules.builtin" 2>/dev/null ||
				say "module '$m' not found in '$moddir'"
			continue
		fi
		mod_add "$p"
	done
	hash=$( (
		echo "$kver ${mod_order[*]}"
		stat -c %s-%Y "$bzimage" "$moddir/modules.dep"
		cat "$here/init" "$here/stage2" /bin/busybox
	) | sha256sum | cut -c1-16)
	out=$cache/initramfs-$kver-$hash.cpio
	if [[ -s $out ]]; then
		echo "$out"
		return
	fi
	tmp=$(mktemp -d "$cache/initramfs.XXXXXX") || die "mktemp in '$cache'"
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/root/bin" "$tmp/root/modules"
	cp /bin/busybox "$tmp/root/bin/busybox"
	install -m 0755 "$here/init" "$tmp/root/init"
	install -m 0644 "$here/stage2" "$tmp/root/stage2"
	for p in "${mod_order[@]}"; do
		name=${p##*/}
		case $p in
		*.ko.xz) xz -dc "$moddir/$p" >"$tmp/root/modules/${name%.xz}" ;;
		*.ko.zst) zstd -qdc "$moddir/$p" >"$tmp/root/modules/${name%.zst}" ;;
		*.ko.gz) gzip -dc "$moddir/$p" >"$tmp/root/modules/${name%.gz}" ;;
		*) cp "$moddir/$p" "$tmp/root/modules/$name" ;;
		esac || die "cannot copy the module '$p'"
		name=${name%.xz}
		name=${name%.zst}
		echo "${name%.gz}" >>"$tmp/root/modules/order"
	done
	# Uncompressed: unpacking is faster than decompressing under TCG.
	(cd "$tmp/root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
		>"$tmp/initramfs.cpio" || die "cpio failed"
	rm -f "$cache/initramfs-$kver-"*.cpio
	mv "$tmp/initramfs.cpio" "$out" || die "cannot write '$out'"
	rm -rf "$tmp"
	trap - EXIT
	echo "$out"
}

kernel=$(kernel_image) || exit 125
initrd=$(initramfs_image) || exit 125
if ((prepare_only)); then
	say "kernel $kernel, initramfs $initrd"
	exit 0
fi

# The guest has its own /tmp and /run: the current directory must be shared there.
case $PWD/ in
/tmp/* | /run/*)
	for s in "${shares[@]}" ""; do
		[[ -n $s && $PWD/ == "$s"/* ]] && break
	done
	[[ -n $s ]] || die "the current directory '$PWD' is hidden in the VM: --share it"
	;;
esac

# -- one run: an io directory shared with the guest carries the command in and
# its output and status out.
io=$(mktemp -d "${TMPDIR:-/tmp}/berth-vm.XXXXXX") || die "mktemp failed"
qpid='' tails=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local p
	[[ -n $qpid ]] && kill "$qpid" 2>/dev/null
	for p in "${tails[@]}"; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$io"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

{
	printf 'cd -- %q || exit 125\n' "$PWD"
	for e in "${envs[@]}"; do
		if [[ $e == *=* ]]; then
			printf 'export %q=%q\n' "${e%%=*}" "${e#*=}"
		elif [[ -n ${!e+x} ]]; then
			printf 'export %q=%q\n' "$e" "${!e}"
		fi
	done
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$io/cmd"
: >"$io/out"
: >"$io/err"
: >"$io/shares"
virtfs=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$io,mount_tag=berthio,security_model=none,multidevs=remap")
i=0
for s in "${shares[@]}"; do
	[[ $s == "$io" ]] && continue
	virtfs+=(-virtfs "local,path=$s,mount_tag=share$i,security_model=none,multidevs=remap")
	echo "share$i $s" >>"$io/shares"
	i=$((i + 1))
done
[[ -n $log ]] || log=$io/console.log
: >"$log" || die "cannot write the console log '$log'"

# tests/vm/init reads berth_cgroup=v1 or hybrid; v2 keeps every controller off v1
if [[ $cgroup == v1 || $cgroup == hybrid ]]; then
	cgroup_arg=berth_cgroup=$cgroup
else
	cgroup_arg=cgroup_no_v1=all
fi
init_arg=
[[ $init == systemd ]] && init_arg="berth_init=systemd systemd.unit=berth-vm.target"
append="console=ttyS0 $cgroup_arg $init_arg berth_vm_timeout=$timeout panic=-1 rdinit=/init ${BERTH_VM_APPEND:-}"
start=$(date +%s)
qemu-system-x86_64 -accel tcg -cpu max -M q35 -smp "$smp" -m "$mem" \
	-nodefaults -no-user-config -display none -monitor none -no-reboot \
	-serial "file:$log" -kernel "$kernel" -initrd "$initrd" -append "$append" \
	"${virtfs[@]}" </dev/null >>"$log" 2>&1 &
qpid=$!
tail -n +1 -s 0.2 -f --pid="$qpid" "$io/out" &
tails+=($!)
tail -n +1 -s 0.2 -f --pid="$qpid" "$io/err" >&2 &
tails+=($!)

timed_out=0
while kill -0 "$qpid" 2>/dev/null; do
	if (($(date +%s) - start >= timeout)); then
		say "timeout after ${timeout}s: killing the VM (qemu pid $qpid)"
		kill "$qpid"
		timed_out=1
		break
	fi
	sleep 0.2
done
wait "$qpid"
qrc=$?
qpid=
wait "${tails[@]}"
tails=()

if ((timed_out)); then
	# the guest's watchdog (stage2) has listed its processes on stderr; a boot that
	# never reached it shows here
	say "last lines of the console log '$log':"
	tail -n 25 "$log" >&2
	exit 124
fi
if [[ ! -s $io/rc ]]; then
	say "the VM stopped without the command's exit status (qemu exit $qrc)"
	[[ -s $io/guest-error ]] && say "$(cat "$io/guest-error")"
	say "last lines of the console log '$log':"
	tail -n 25 "$log" >&2
	exit 125
fi
read -r rc <"$io/rc"
exit "$rc"
