#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# mkrootfs.sh DIR: build a minimal busybox root filesystem in DIR from Debian's
# busybox-static (/bin/busybox). Used by the integration tests, the quick start
# and the benchmark. DIR must not exist or be empty.
set -euo pipefail

dir=${1:?usage: mkrootfs.sh DIR}
busybox=${BUSYBOX:-/bin/busybox}

if ! "$busybox" --list-full >/dev/null 2>&1; then
	echo "mkrootfs.sh: $busybox is not a working busybox (apt-get install busybox-static)" >&2
	exit 1
fi
if [[ $(LC_ALL=C ldd "$busybox" 2>&1) != *"not a dynamic"* ]]; then
	echo "mkrootfs.sh: $busybox must be statically linked (busybox-static)" >&2
	exit 1
fi

mkdir -p "$dir"
cd "$dir"
mkdir -p bin sbin usr/bin usr/sbin proc sys dev tmp etc root home/user var/tmp mnt
chmod 1777 tmp var/tmp
chmod 0700 root
cp "$busybox" bin/busybox
chmod 0755 bin/busybox

# One symlink per applet, where busybox would install it. Skip busybox itself:
# bin/busybox is the binary, a link there would point at itself.
while read -r applet; do
	[[ $applet == */busybox ]] && continue
	[[ -e $applet || -L $applet ]] && continue
	ln -s /bin/busybox "$applet"
done < <("$busybox" --list-full)

cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >etc/group <<'GROUP'
root:x:0:
tty:x:5:
user:x:1000:
extra1:x:1001:
extra2:x:1002:
nogroup:x:65534:
GROUP
# (an ordinary user cannot give it away: the container's uid 1000 is not its own then)
[[ $(id -u) != 0 ]] || chown 1000:1000 home/user
echo "berth-test" >etc/hostname
: >etc/resolv.conf
