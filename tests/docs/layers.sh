#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# layers.sh - no module includes a header of a layer above its own, and
# the folders of src/ are the layers' bands
#
# usage: layers.sh SOURCE_ROOT
#
# The layers are the table of the section "Layers" of docs/design.md,
# bottom layer first: each row a layer, its folder of src/ and its modules
# in backquotes. A module is a src/FOLDER/X.c, a header of src/FOLDER/, an
# include/nsbridge/X.h, or some of these. Each #include "nsbridge/Y.h" of
# them is checked: Y's layer must be the includer's or one below. Within a
# layer two modules must not include each other, or calls would go both
# ways there. A source file outside its layer's folder fails, as does a
# folder whose layers are not consecutive; so does a module in no layer,
# in two, or listed without a file, so the table cannot fall behind the
# sources.
. "$(dirname "$0")/lib.sh"

ROOT=${1:?usage: $0 SOURCE_ROOT}
DESIGN=$ROOT/docs/design.md

# "LAYER FOLDER MODULE" a line, bottom layer first
sed -n '/^## Layers$/,/^## /p' "$DESIGN" |
	awk -F'|' '/^\| *[a-z]+ *\|/ && $4 ~ /`/ {
		gsub(/[ `]/, "", $2); gsub(/[ `]/, "", $3); sub(/\/$/, "", $3)
		n = split($4, m, "`")
		for (i = 2; i <= n; i += 2) print $2, $3, m[i]
	}' >"$T/layers"
[ "$(awk '{ print $1 }' "$T/layers" | uniq | wc -l)" -ge 5 ] ||
	fail "$DESIGN: no table of layers found under '## Layers'"

declare -A level=() layer=() folder=() folder_done=()
rank=0
prev=
prev_folder=
errors=0
error() {
	echo "$*" >&2
	errors=$((errors + 1))
}
while read -r name dir module; do
	if [ "$name" != "$prev" ]; then
		rank=$((rank + 1))
		if [ "$dir" != "$prev_folder" ]; then
			[ -z "${folder_done[$dir]:-}" ] ||
				error "$DESIGN: layer $name is in folder $dir/, but the layers between it and $dir/'s others are not"
			[ -z "$prev_folder" ] || folder_done[$prev_folder]=1
		fi
	fi
	prev=$name
	prev_folder=$dir
	[ -z "${layer[$module]:-}" ] ||
		fail "$DESIGN: module $module is in two layers, ${layer[$module]} and $name"
	level[$module]=$rank
	layer[$module]=$name
	folder[$module]=$dir
done <"$T/layers"

mapfile -t sources < <(cd "$ROOT" && find src -name '*.[ch]' | sort)
files=("${sources[@]/#/$ROOT/}" "$ROOT"/include/nsbridge/*.h)
declare -A seen=()
for f in "${files[@]}"; do
	m=${f##*/} m=${m%.*}
	seen[$m]=1
	if [ -z "${level[$m]:-}" ]; then
		error "${f#"$ROOT"/}: module $m is in no layer of docs/design.md"
		continue
	fi
	# a file of src/ sits in its layer's folder: src/ itself for the top
	case $f in
	"$ROOT"/src/*)
		dir=${f#"$ROOT"/} dir=${dir%/*}
		[ "$dir" = src ] || dir=${dir#src/}
		[ "$dir" = "${folder[$m]}" ] ||
			error "${f#"$ROOT"/}: module $m is of layer ${layer[$m]}, whose folder is ${folder[$m]}/, not $dir/"
		;;
	esac
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
		error "$file includes include/nsbridge/$to.h: $from (layer ${layer[$from]}, ${folder[$from]}/) may not include $to (layer ${layer[$to]}, ${folder[$to]}/, above it)"
	fi
done <"$T/includes"
for pair in "${!includes[@]}"; do
	from=${pair%%:*} to=${pair#*:}
	[[ "$from" < "$to" ]] && [ -n "${includes[$to:$from]:-}" ] &&
		[ "${level[$from]:-}" = "${level[$to]:-}" ] &&
		error "$from and $to include each other's headers, both of layer ${layer[$from]:-none}"
done

[ "$errors" -eq 0 ] || fail "$errors breach(es) of the layers of docs/design.md"
pass "$(wc -l <"$T/includes") includes of ${#seen[@]} modules follow the $rank layers of docs/design.md, each in its folder"
