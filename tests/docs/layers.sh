#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# layers.sh - no module includes a header of a layer above its own
#
# usage: layers.sh SOURCE_ROOT
#
# The layers are the table of the section "Layers" of docs/design.md,
# bottom layer first, the modules of each in backquotes. A module is a
# src/X.c, an include/nsbridge/X.h, or both. Each #include "nsbridge/Y.h"
# of src/*.c and include/nsbridge/*.h is checked: Y's layer must be the
# includer's or one below. Within a layer two modules must not include
# each other, or calls would go both ways there. A module in no layer, in
# two, or listed without a file fails too, so the table cannot fall
# behind the sources.
. "$(dirname "$0")/lib.sh"

ROOT=${1:?usage: $0 SOURCE_ROOT}
DESIGN=$ROOT/docs/design.md

# "LAYER MODULE" a line, bottom layer first
sed -n '/^## Layers$/,/^## /p' "$DESIGN" |
	awk -F'|' '/^\| *[a-z]+ *\|/ && $3 ~ /`/ {
		gsub(/ /, "", $2); n = split($3, m, "`")
		for (i = 2; i <= n; i += 2) print $2, m[i]
	}' >"$T/layers"
[ "$(awk '{ print $1 }' "$T/layers" | uniq | wc -l)" -ge 5 ] ||
	fail "$DESIGN: no table of layers found under '## Layers'"

declare -A level=() layer=()
rank=0
prev=
while read -r name module; do
	[ "$name" = "$prev" ] || rank=$((rank + 1))
	prev=$name
	[ -z "${layer[$module]:-}" ] ||
		fail "$DESIGN: module $module is in two layers, ${layer[$module]} and $name"
	level[$module]=$rank
	layer[$module]=$name
done <"$T/layers"

errors=0
error() {
	echo "$*" >&2
	errors=$((errors + 1))
}

files=("$ROOT"/src/*.c "$ROOT"/include/nsbridge/*.h)
declare -A seen=()
for f in "${files[@]}"; do
	m=${f##*/} m=${m%.*}
	seen[$m]=1
	[ -n "${level[$m]:-}" ] || error "${f#"$ROOT"/}: module $m is in no layer of docs/design.md"
done
for m in "${!level[@]}"; do
	[ -n "${seen[$m]:-}" ] ||
		error "docs/design.md: module $m of layer ${layer[$m]} has no src/$m.c nor include/nsbridge/$m.h"
done

# "INCLUDER_FILE INCLUDED_MODULE" a line
awk -v root="$ROOT/" 'match($0, /^[ \t]*#[ \t]*include[ \t]+"nsbridge\/[A-Za-z0-9_]+\.h"/) {
	to = substr($0, RSTART, RLENGTH); sub(/.*nsbridge\//, "", to); sub(/\.h"$/, "", to)
	print substr(FILENAME, length(root) + 1), to
}' "${files[@]}" >"$T/includes"

declare -A includes=()
while read -r file to; do
	from=${file##*/} from=${from%.*}
	[ "$from" != "$to" ] || continue
	includes[$from:$to]=1
	if [ -n "${level[$from]:-}" ] && [ -n "${level[$to]:-}" ] &&
		[ "${level[$to]}" -gt "${level[$from]}" ]; then
		error "$file includes include/nsbridge/$to.h: $from (layer ${layer[$from]}) may not include $to (layer ${layer[$to]}, above it)"
	fi
done <"$T/includes"
for pair in "${!includes[@]}"; do
	from=${pair%%:*} to=${pair#*:}
	[[ "$from" < "$to" ]] && [ -n "${includes[$to:$from]:-}" ] &&
		[ "${level[$from]:-}" = "${level[$to]:-}" ] &&
		error "$from and $to include each other's headers, both of layer ${layer[$from]:-none}"
done

[ "$errors" -eq 0 ] || fail "$errors breach(es) of the layers of docs/design.md"
pass "$(wc -l <"$T/includes") includes of ${#seen[@]} modules follow the $rank layers of docs/design.md"
