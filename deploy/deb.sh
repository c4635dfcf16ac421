#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# deb.sh - build the Debian package of nsbridge from a clean copy of the tree
#
#   deploy/deb.sh [OUTDIR]
#
# Copies the tree's files (those git tracks or would track, as they are in the
# work tree;
# without git, everything but build*/ directories) to a temporary directory,
# puts deploy/debian there as debian/ and runs dpkg-buildpackage -us -uc -b.
# Writes nsbridge_VERSION_ARCH.deb, nsbridge-dbgsym_VERSION_ARCH.deb and
# their .changes and .buildinfo into OUTDIR (default: the current
# directory). VERSION is meson.build's project version; deploy/debian/changelog
# must carry it, or nothing is built. Needs dpkg-dev, debhelper and the
# Build-Depends of deploy/debian/control (tests/deps.sh deb).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-.}
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() {
	echo "deb.sh: $*" >&2
	exit 1
}

# project('nsbridge', 'c', version: 'X.Y.Z', ...)
version=$(sed -n "s/^[[:space:]]*version:[[:space:]]*'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n 1)
[ -n "$version" ] || die "no version: in $src/meson.build"
changelog=$(dpkg-parsechangelog -l "$src/deploy/debian/changelog" -S Version) ||
	die "cannot read deploy/debian/changelog"
[ "$changelog" = "$version" ] ||
	die "deploy/debian/changelog is at $changelog, meson.build at $version: add an entry for $version"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nsbridge-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
tree=$tmp/nsbridge-$version
mkdir "$tree"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# the files git tracks or would (not those .gitignore names), with their
	# edits; a file deleted but not yet committed is left out
	git -C "$src" ls-files -z --cached --others --exclude-standard | (cd "$src" && xargs -0 sh -c \
		'for f; do [ -e "$f" ] && printf "%s\n" "$f"; done' sh) |
		tar -C "$src" -c -T - | tar -C "$tree" -x
else
	tar -C "$src" -c --exclude='./build*' --exclude=./debian . | tar -C "$tree" -x
fi
rm -rf "$tree/debian"
cp -a "$tree/deploy/debian" "$tree/debian"

(cd "$tree" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 || {
	tail -n 30 "$tmp/build.log" >&2
	die "dpkg-buildpackage failed (the end of its log is above)"
}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
for f in "nsbridge_${version}_$arch.deb" "nsbridge-dbgsym_${version}_$arch.deb" \
	"nsbridge_${version}_$arch.changes" "nsbridge_${version}_$arch.buildinfo"; do
	[ -e "$tmp/$f" ] || die "dpkg-buildpackage made no $f"
	cp "$tmp/$f" "$out/"
done
echo "deb.sh: $out/nsbridge_${version}_$arch.deb"
