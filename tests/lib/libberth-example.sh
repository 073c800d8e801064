#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# libberth-example.sh [BUILD_DIR]: libberth as an engine gets it (issue 12).
# Checks that berth --version prints meson's version, installs the build into a
# temporary DESTDIR, checks that the installed libberth.so exports exactly the
# functions of include/berth/*.h, each under the version node of
# src/libberth/libberth.sym that lists it, and BERTH_0.1 as released; that each
# installed header compiles on its own; builds
# contrib/libberth-example against the installed headers and libberth.pc, runs
# a busybox container with it (`sh -c 'exit 3'`) under a fresh state root and
# checks that it prints meson's version and status 3. Removes all it made.
# Exits 0 when everything held (tests/run counts it as one test). Needs root.
set -euo pipefail

cd "$(dirname "$0")/../.."
build=$(realpath "${1:-build}")
tmp=$(mktemp -d /tmp/berth-libtest.XXXXXX)
id=libberth-example-$$
fail() {
	printf 'libberth-example.sh: %s\n' "$*" >&2
	exit 1
}
cleanup() {
	"$build/berth" --root "$tmp/state" delete -f "$id" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# One version: meson.build's, in berth --version and in the installed berth/version.h
ver=$(meson introspect "$build" --projectinfo | jq -r .version)
[[ $("$build/berth" --version) == "berth version $ver"$'\n'* ]] ||
	fail "berth --version does not print meson's version $ver"

meson install -C "$build" --destdir "$tmp/dest" --quiet >&2 || fail "meson install failed"
pcdir=$(dirname "$(find "$tmp/dest" -name libberth.pc -print -quit)")
[[ $pcdir != . ]] || fail "no libberth.pc installed"
libdir=$(dirname "$pcdir")
so=$libdir/libberth.so.0
[[ -f $so && -f $libdir/libberth.so ]] || fail "no libberth.so.0 and libberth.so in $libdir"
[[ $(find "$tmp/dest" -path '*/include/berth/*.h' -printf '%f\n' | sort | tr '\n' ' ') == \
	"berth.h cleanup.h error.h version.h " ]] ||
	fail "include/berth/ is not berth.h cleanup.h error.h version.h"
[[ $(readelf -d "$so") == *"Library soname: [libberth.so.0]"* ]] || fail "soname is not libberth.so.0"

# The exports, both ways: every function declared in the public headers (a
# declaration starts at column 0; static inline helpers are not symbols), and
# nothing else; each one in the version node of libberth.sym that lists it.
want=$(grep -ohE '^[a-z][^(]*[ *]berth_[a-z0-9_]+\(' include/berth/*.h | grep -v '^static' |
	grep -oE 'berth_[a-z0-9_]+\($' | tr -d '(' | sort)
got=$(nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | LC_ALL=C sort)
[[ -n $want ]] || fail "found no function in include/berth/*.h"
declare -A node
while read -r name version; do
	node[$name]=$version
done < <(awk '/^BERTH_[0-9.]+ \{/ { v = $1 } /^\t[a-z0-9_]+;$/ { sub(/;/, "", $1); print $1, v }' \
	src/libberth/libberth.sym)
mapfile -t names <<<"$want"
want=$(for n in "${names[@]}"; do echo "$n@@${node[$n]:-NO_NODE}"; done | LC_ALL=C sort)
if [[ $got != "$want" ]]; then
	diff <(echo "$want") <(echo "$got") >&2 || true
	fail "libberth.so does not export exactly the functions of include/berth/*.h in their nodes"
fi
# BERTH_0.1 is released: its functions stay as they were (new ones go into a new node).
v01=$(printf '%s\n' berth_attach_connect berth_create berth_create_shim berth_delete \
	berth_error_free berth_error_prefix berth_error_set berth_error_setx berth_events berth_exec \
	berth_features_json berth_id_check berth_kill berth_list berth_logs berth_pause berth_ps \
	berth_resume berth_run berth_signal_parse berth_spec_generate berth_start berth_state_free \
	berth_state_get berth_state_list_free berth_state_to_json berth_update berth_wait)
[[ $(echo "$got" | sed -n 's/@@BERTH_0\.1$//p') == "$v01" ]] ||
	fail "the functions of BERTH_0.1 changed: $(echo "$got" | grep -c '@@BERTH_0\.1$') now"

# Build the example as its README says, against the installed tree only.
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$tmp/dest
flags=$(pkg-config --cflags --libs libberth) || fail "pkg-config does not find libberth"
# Each installed header stands on its own, in plain C99 too.
for h in berth cleanup error version; do
	# shellcheck disable=SC2086
	# (a header of macros alone is an empty translation unit to -pedantic)
	printf '#include <berth/%s.h>\ntypedef int check;\n' "$h" | cc -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only \
		$flags -x c - >&2 || fail "berth/$h.h does not compile on its own"
done
# shellcheck disable=SC2086
cc -Wall -Wextra -Werror -o "$tmp/example" contrib/libberth-example/example.c $flags \
	-Wl,-rpath,"$libdir" >&2 || fail "the example does not build against the installed library"
# (grep -q on a pipe would make ldd fail with SIGPIPE under pipefail)
[[ $(ldd "$tmp/example") == *"libberth.so.0 => $libdir/libberth.so.0 "* ]] ||
	fail "the example does not load the installed libberth.so.0"

mkdir -p "$tmp/bundle" "$tmp/state"
bash tests/lib/mkrootfs.sh "$tmp/bundle/rootfs" >&2
"$build/berth" spec -b "$tmp/bundle"
jq '.process.args = ["sh", "-c", "exit 3"]' "$tmp/bundle/config.json" >"$tmp/config.json"
mv "$tmp/config.json" "$tmp/bundle/config.json"

out=$("$tmp/example" "$tmp/state" "$tmp/bundle" "$id") || fail "the example failed: $out"
echo "$out" >&2
[[ $out == "libberth $ver: container '$id' exited with status 3" ]] ||
	fail "expected version $ver and status 3, got: $out"
# berth_run deletes the container (its seccomp cache stays in the root, as with berth run)
[[ ! -e $tmp/state/$id ]] || fail "the container's state was left in the state root"
echo "libberth-example.sh: ok" >&2
