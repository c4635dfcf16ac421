#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# completion.sh - the bash completion offers what nsbridge takes
#
# usage: completion.sh NSBRIDGE OPTIONS_C COMPLETION-SCRIPT
#
# The script is sourced here and its function called as bash calls it,
# with COMP_LINE, COMP_POINT, COMP_WORDS and COMP_CWORD; COMPREPLY is
# trimmed the way bash inserts it (only what follows the last ':' or '=').
# Then once more with bash-completion's own helpers loaded, as in a login
# shell. The engines and ip are fakes on PATH.
. "$(dirname "$0")/lib.sh"

NSB=${1:?usage: $0 NSBRIDGE OPTIONS_C COMPLETION-SCRIPT}
OPTIONS_C=${2:?usage: $0 NSBRIDGE OPTIONS_C COMPLETION-SCRIPT}
SCRIPT=${3:?usage: $0 NSBRIDGE OPTIONS_C COMPLETION-SCRIPT}

# what bash itself splits words at, whatever the environment says
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'

# compopt works only inside a completion that readline started: record it
COMPOPT=
# shellcheck disable=SC2317
compopt() {
	COMPOPT+=" $*"
}

# complete LINE - call the completion for the cursor at the end of LINE;
# REPLY is COMPREPLY sorted, one line, and ELAPSED_MS how long it took
complete_line() {
	local line=$1 start
	COMP_LINE=$line
	COMP_POINT=${#line}
	# bash's own split: at blanks, and around the characters of COMP_WORDBREAKS
	read -ra COMP_WORDS <<<"$(sed -E 's/([:=])/ \1 /g' <<<"$line")"
	[[ $line == *[[:space:]] ]] && COMP_WORDS+=('')
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPOPT=
	COMPREPLY=()
	start=$(date +%s%N)
	_nsbridge nsbridge "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	ELAPSED_MS=$((($(date +%s%N) - start) / 1000000))
	REPLY=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
	REPLY=${REPLY% }
}

# offers LINE WORD... - completing LINE offers at least every WORD
offers() {
	local line=$1 w
	shift
	complete_line "$line"
	for w in "$@"; do
		[[ " $REPLY " == *" $w "* ]] || fail "'$line<TAB>' does not offer '$w'; it offers: $REPLY"
	done
}

# offers_only LINE WORDS - completing LINE offers exactly WORDS (sorted, one line)
offers_only() {
	complete_line "$1"
	assert_eq "'$1<TAB>'" "$2" "$REPLY"
}

# shellcheck disable=SC1090
. "$SCRIPT" || fail "sourcing $SCRIPT"
assert_match "complete -p nsbridge" '-F _nsbridge nsbridge$' "$(complete -p nsbridge)"

# fakes: docker and podman list containers, ip lists namespaces
FAKE=$T/bin
mkdir -p "$FAKE"
printf '#!/bin/sh\necho web\necho db\n' >"$FAKE/docker"
printf '#!/bin/sh\necho pod-app\n' >"$FAKE/podman"
printf '#!/bin/sh\necho "dev (id: 0)"\necho other\n' >"$FAKE/ip"
chmod +x "$FAKE"/*
PATH=$FAKE:$PATH

check_all() {
	local opts
	# every option nsbridge knows of, and nothing but options, after --
	table_rows "$OPTIONS_C" >/dev/null  # fails here if the table cannot be read
	opts=$( (help_options "$NSB"; table_options "$OPTIONS_C") | sort -u)
	[ "$(wc -l <<<"$opts")" -ge 20 ] || fail "too few options found in --help and options.c: $opts"
	# shellcheck disable=SC2046
	offers "nsbridge --" $(grep -- '^--' <<<"$opts")
	# shellcheck disable=SC2086
	offers "nsbridge -" $opts
	for w in $REPLY; do
		[[ $w == -* ]] || fail "'nsbridge -<TAB>' offers '$w', not an option"
	done
	offers_only "nsbridge --log-f" "--log-format"
	offers "nsbridge -c web host:1 container:1 --v" --verbose --version
	pass "every option of --help and src/cli/options.c"

	offers_only "nsbridge --log-format " "json text"
	offers_only "nsbridge --log-format=j" "json"
	offers_only "nsbridge -q --log-format t" "text"
	pass "--log-format: text, json"

	# the first word: a subcommand or an endpoint
	offers "nsbridge " ports status add remove host: container: unix:
	offers "nsbridge add 42 " host: container: unix:
	offers_only "nsbridge host" "host:"
	assert_match "nospace after host:" "-o nospace" "$COMPOPT"
	offers_only "nsbridge -c web host:5432 con" "container:"
	offers_only "nsbridge st" "status"
	[[ $COMPOPT != *nospace* ]] || fail "'nsbridge st<TAB>' sets nospace: $COMPOPT"
	# several SERVICEs: the one after the comma; bash replaces what follows ':'
	offers_only "nsbridge -c web host:8081,h" "8081,host:"
	offers_only "nsbridge -c web --mirror " "container host"
	pass "subcommands, host: container: unix:, --mirror FROM TO"

	# files: unix:PATH, --config, --host-netns, --port-file
	: >"$T/web.conf"
	: >"$T/pg.sock"
	offers_only "nsbridge --config $T/we" "$T/web.conf"
	offers_only "nsbridge --port-file=$T/we" "$T/web.conf"
	offers_only "nsbridge --host-netns $T/w" "$T/web.conf"
	offers_only "nsbridge -c web unix:$T/pg" "$T/pg.sock"
	pass "files for --config, --port-file, --host-netns, unix:"

	offers_only "nsbridge ports -" "--container --json -c"
	offers_only "nsbridge status -" "--json --watch"
	pass "ports and status options"

	# -c: the engines' names, and the prefixes pid:, netns: (ip netns list), self
	offers_only "nsbridge -c " "db netns: pid: pod-app self web"
	offers_only "nsbridge --container=w" "web"
	offers_only "nsbridge -c netns:" "dev other"
	offers_only "nsbridge -c ne" "netns:"
	assert_match "nospace after netns:" "-o nospace" "$COMPOPT"
	pass "-c: docker and podman names, pid:, netns: with ip netns list, self"

	# an engine that hangs costs one second, not the shell
	printf '#!/bin/sh\nsleep 10\necho late\n' >"$FAKE/docker"
	offers_only "nsbridge -c " "netns: pid: pod-app self"
	[ "$ELAPSED_MS" -lt 2000 ] || fail "a hanging docker held the completion for $ELAPSED_MS ms"
	pass "a hanging docker: answered in $ELAPSED_MS ms without it"
	printf '#!/bin/sh\necho web\necho db\n' >"$FAKE/docker"

	# nsbridge ... -- CMD: a command
	offers "nsbridge -c web host:1 container:1 -- ech" echo
	pass "-- CMD completes commands"
}

check_all
pass "on its own"

# in a shell with bash-completion loaded (its _command_offset completes CMD)
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
[ -r "$BASH_COMPLETION" ] || skip "bash-completion is not installed: checked on its own only"
# shellcheck disable=SC1090
. "$BASH_COMPLETION" >/dev/null 2>&1
declare -F _command_offset >/dev/null || fail "$BASH_COMPLETION has no _command_offset"
unset -f compopt
# shellcheck disable=SC2317
compopt() {
	COMPOPT+=" $*"
}
# shellcheck disable=SC1090
. "$SCRIPT"
check_all
pass "with bash-completion's helpers"
