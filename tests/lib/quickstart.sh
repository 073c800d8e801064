#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's first command: on Debian 12, as root, install what berth needs,
# build it into build/, make a busybox bundle in /tmp/berth-demo and run one
# container that prints where it runs. The bundle stays for you to play with:
#   build/berth run -b /tmp/berth-demo mybox
set -euo pipefail

cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive

pkgs=(meson ninja-build pkg-config gcc libseccomp-dev libcap-dev libyajl-dev libmnl-dev
	busybox-static jq)
source tests/lib/apt.sh
apt_install "${pkgs[@]}"

echo "== building berth"
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build >/dev/null

bundle=/tmp/berth-demo
echo "== preparing a busybox bundle in $bundle"
rm -rf "$bundle"
mkdir -p "$bundle"
bash tests/lib/mkrootfs.sh "$bundle/rootfs"
build/berth spec -b "$bundle"
jq '.root.readonly = false | .process.args = ["sh", "-c",
	"echo \"hello from berth: host $(hostname), pid $$, $(id -un) with caps $(grep CapEff /proc/self/status | cut -f2)\"; cat /etc/os-release 2>/dev/null || busybox | head -n1"]' \
	"$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"

echo "== build/berth run -b $bundle demo"
exec build/berth --root /run/berth run -b "$bundle" "demo-$$"
