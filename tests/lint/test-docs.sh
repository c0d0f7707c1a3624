#!/usr/bin/env bash
# The docs test (suite lint):
#   test-docs.sh ROOT
#     1. every command in the ```sh / ```bash blocks of docs/getting-started.md
#        is one the project ships (a program built by meson.build, a target of
#        the Makefile, a script in the repository) or a well-known tool of the
#        allow-list below;
#        Its ```yaml objects of a group that deploy/crds defines (cilium.io)
#        use a kind and version those CRDs serve;
#     2. every relative link in README.md and docs/*.md resolves to a file or
#        directory inside ROOT, and its #anchor, if any, to a heading (GitHub's
#        slugs) or an explicit id/name of the target page.
#   test-docs.sh --self-test
#     runs 1 and 2 on small made-up repositories, each with one fault, and
#     checks that every fault is found and a clean one passes.
# One line per problem, "file:line: what"; exit 1 if there is any.
set -euo pipefail
export LC_ALL=C

# Tools a reader is expected to have, not shipped by l2lb. A command missing
# here and not shipped by the project fails the test: add it here only if it
# is a well-known tool a reader installs from their distribution.
ALLOWED_TOOLS=(
	kubectl kind k3s kubeadm helm docker podman crictl ctr
	arping curl ip ping tcpdump ss
	sudo cd export ls cat grep sed awk printf echo mkdir cp mv rm tee sort diff
	systemctl journalctl ssh xargs git meson ninja
)

problems=0 n_commands=0 n_links=0 n_objects=0
problem() { # file line message
	printf '%s:%s: %s\n' "$1" "$2" "$3"
	problems=$((problems + 1))
}

# ---- 1. commands ----

# Programs the project builds and ships: executable('name', ...) in the
# top-level meson.build and under src/ (not tests, benchmarks or the lab).
shipped_programs() { # root
	local f
	{
		[[ -f $1/meson.build ]] && printf '%s\n' "$1/meson.build"
		[[ -d $1/src ]] && find "$1/src" -name meson.build
	} | while IFS= read -r f; do
		grep -o "executable( *'[^']*'" "$f" | sed "s/.*'\\([^']*\\)'/\\1/" || true
	done
}

make_targets() { # root
	[[ -f $1/Makefile ]] || return 0
	grep -E '^[A-Za-z0-9_.-]+( [A-Za-z0-9_.-]+)*:([^=]|$)' "$1/Makefile" |
		sed 's/:.*//' | tr ' ' '\n' | grep -v '^\.' || true
}

# "group/version kind" for every version the CRDs of deploy/crds serve
crd_served() { # root
	local f
	for f in "$1"/deploy/crds/*.yaml; do
		[[ -f $f ]] || continue
		awk '/^  group: /{group=$2} /^    kind: /{kind=$2} /^  - name: /{ver=$3}
			/^    served: true/{if (ver != "") print group "/" ver " " kind}' "$f"
	done
}

declare -A PROGRAM=() TARGET=() TOOL=() SERVED=() CRD_GROUP=()

# A YAML object of the docs: if its apiVersion's group is one of deploy/crds,
# its version and kind must be served there.
check_yaml_object() { # file lineno apiVersion kind
	[[ -n $3 && -n $4 ]] || return 0
	[[ -n ${CRD_GROUP[${3%%/*}]:-} ]] || return 0
	n_objects=$((n_objects + 1))
	[[ -n ${SERVED["$3 $4"]:-} ]] ||
		problem "$1" "$2" "kind $4 of apiVersion $3 is not served by the CRDs of deploy/crds"
}

# Split a shell line into simple commands (at unquoted |, ||, &&, ;, &) and
# check the first word of each. Sets HEREDOC when the line starts a
# here-document. Quotes are honoured; a # at the start of a word begins a
# comment.
check_command_line() { # root file lineno line
	local root=$1 file=$2 lineno=$3 line=$4
	local -a words=()
	local word="" have_word=0 quote="" c next i n=${#line}

	flush_word() {
		if ((have_word)); then words+=("$word"); fi
		word="" have_word=0
	}
	for ((i = 0; i < n; i++)); do
		c=${line:i:1}
		if [[ -n $quote ]]; then
			if [[ $c == "$quote" ]]; then
				quote=""
			elif [[ $quote == '"' && $c == "\\" ]]; then
				word+=${line:i:2}
				i=$((i + 1))
			else
				word+=$c
			fi
			continue
		fi
		case $c in
		"'" | '"')
			quote=$c have_word=1
			;;
		"\\")
			word+=${line:i+1:1} have_word=1
			i=$((i + 1))
			;;
		' ' | $'\t')
			flush_word
			;;
		'#')
			if ((have_word)); then word+=$c; else break; fi
			;;
		'|' | '&' | ';')
			next=${line:i+1:1}
			flush_word
			check_simple_command "$root" "$file" "$lineno" "${words[@]}"
			words=()
			if [[ $next == '|' || $next == '&' ]]; then i=$((i + 1)); fi
			;;
		*)
			word+=$c have_word=1
			;;
		esac
	done
	flush_word
	check_simple_command "$root" "$file" "$lineno" "${words[@]}"
}

check_simple_command() { # root file lineno words...
	local root=$1 file=$2 lineno=$3 w first path
	shift 3
	# here-documents: their body is data, not commands
	for w in "$@"; do
		if [[ $w == '<<'* ]]; then
			HEREDOC=${w#<<}
			HEREDOC=${HEREDOC#-}
		fi
	done
	# leading variable assignments and sudo
	while (($# > 0)) && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= || $1 == sudo ]]; do
		shift
	done
	(($# > 0)) || return 0
	first=$1
	shift
	n_commands=$((n_commands + 1))
	if [[ $first == make ]]; then
		for w in "$@"; do
			[[ $w == -* || $w == *=* ]] && continue
			[[ -n ${TARGET[$w]:-} ]] ||
				problem "$file" "$lineno" "make $w: no such target in the Makefile"
		done
		return 0
	fi
	if [[ $first == */* ]]; then
		path=${first#./}
		if [[ $path == build/* ]]; then
			[[ -n ${PROGRAM[${path#build/}]:-} ]] ||
				problem "$file" "$lineno" "$first: not a program meson.build builds"
		elif [[ ! -f $root/$path || ! -x $root/$path ]]; then
			problem "$file" "$lineno" "$first: no such executable in the repository"
		fi
		return 0
	fi
	[[ -n ${PROGRAM[$first]:-} || -n ${TOOL[$first]:-} ]] ||
		problem "$file" "$lineno" "$first: neither a program l2lb ships, a make target, a script of the repository nor an allowed tool"
}

check_commands() { # root file
	local root=$1 file=$2 line lineno=0 fence="" cont="" cont_line=0 p t
	local api="" kind="" obj_line=0
	PROGRAM=() TARGET=() TOOL=() SERVED=() CRD_GROUP=()
	while IFS= read -r p; do
		[[ -n $p ]] || continue
		SERVED[$p]=1
		CRD_GROUP[${p%%/*}]=1
	done < <(crd_served "$root")
	while IFS= read -r p; do [[ -n $p ]] && PROGRAM[$p]=1; done < <(shipped_programs "$root")
	while IFS= read -r t; do [[ -n $t ]] && TARGET[$t]=1; done < <(make_targets "$root")
	for t in "${ALLOWED_TOOLS[@]}"; do TOOL[$t]=1; done
	HEREDOC=""
	while IFS= read -r line || [[ -n $line ]]; do
		lineno=$((lineno + 1))
		if [[ -z $fence ]]; then
			if [[ $line =~ ^[[:space:]]*\`\`\`[[:space:]]*([A-Za-z0-9_-]*) ]]; then
				fence=${BASH_REMATCH[1]:-text}
			fi
			continue
		fi
		if [[ -n $HEREDOC ]]; then
			[[ ${line//[[:space:]]/} == "${HEREDOC//[\'\"]/}" ]] && HEREDOC=""
			continue
		fi
		if [[ $line =~ ^[[:space:]]*\`\`\` ]]; then
			[[ $fence == yaml ]] && check_yaml_object "$file" "$obj_line" "$api" "$kind"
			fence="" api="" kind=""
			continue
		fi
		if [[ $fence == yaml ]]; then
			if [[ $line == --- ]]; then
				check_yaml_object "$file" "$obj_line" "$api" "$kind"
				api="" kind=""
			elif [[ $line =~ ^apiVersion:[[:space:]]*\"?([^\"[:space:]]+) ]]; then
				api=${BASH_REMATCH[1]} obj_line=$lineno
			elif [[ $line =~ ^kind:[[:space:]]*\"?([^\"[:space:]]+) ]]; then
				kind=${BASH_REMATCH[1]}
			fi
			continue
		fi
		[[ $fence == sh || $fence == bash || $fence == shell ]] || continue
		if [[ -n $cont ]]; then
			line="$cont $line"
		else
			cont_line=$lineno
		fi
		if [[ $line == *"\\" ]]; then
			cont=${line%\\}
			continue
		fi
		cont=""
		check_command_line "$root" "$file" "$cont_line" "$line"
	done <"$root/$file"
}

# ---- 2. links ----

# GitHub's heading anchors: lower case; links reduced to their text; every
# character but letters, digits, space, - and _ removed; spaces become -;
# the second and later equal slugs get -1, -2, ...
declare -A ANCHORS=() ANCHORS_DONE=()
collect_anchors() { # absolute .md path
	local md=$1 line fence=0 slug
	local -A seen=()
	[[ -n ${ANCHORS_DONE[$md]:-} ]] && return 0
	ANCHORS_DONE[$md]=1
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ $line =~ ^[[:space:]]*\`\`\` ]]; then
			fence=$((!fence))
			continue
		fi
		((fence)) && continue
		while [[ $line =~ (id|name)=\"([^\"]+)\" ]]; do
			ANCHORS[$md#${BASH_REMATCH[2]}]=1
			line=${line/"${BASH_REMATCH[0]}"/}
		done
		[[ $line =~ ^#{1,6}[[:space:]]+(.*)$ ]] || continue
		slug=${BASH_REMATCH[1]}
		[[ $slug =~ ^(.*[^[:space:]])[[:space:]]+#+[[:space:]]*$ ]] && slug=${BASH_REMATCH[1]}
		while [[ $slug =~ \[([^]]*)\]\([^\)]*\) ]]; do
			slug=${slug/"${BASH_REMATCH[0]}"/"${BASH_REMATCH[1]}"}
		done
		slug=${slug,,}
		slug=${slug//[^a-z0-9 _-]/}
		slug=${slug// /-}
		if [[ -n ${seen[$slug]:-} ]]; then
			ANCHORS[$md#$slug-${seen[$slug]}]=1
			seen[$slug]=$((seen[$slug] + 1))
		else
			ANCHORS[$md#$slug]=1
			seen[$slug]=1
		fi
	done <"$md"
}

check_link() { # root file lineno target
	local root=$1 file=$2 lineno=$3 target=$4 path anchor abs dir
	[[ $target =~ ^[A-Za-z][A-Za-z0-9+.-]*: ]] && return 0 # http:, mailto:, ...
	n_links=$((n_links + 1))
	path=${target%%#*}
	anchor=""
	[[ $target == *'#'* ]] && anchor=${target#*#}
	if [[ -z $path ]]; then
		abs=$root/$file
	elif [[ $path == /* ]]; then
		abs=$root$path
	else
		dir=$root/$file
		abs=${dir%/*}/$path
	fi
	abs=$(realpath -m "$abs")
	if [[ $abs != "$ROOT_REAL" && $abs != "$ROOT_REAL"/* ]]; then
		problem "$file" "$lineno" "link $target leaves the repository"
		return 0
	fi
	if [[ ! -e $abs ]]; then
		problem "$file" "$lineno" "link $target: no such file ${abs#"$ROOT_REAL"/}"
		return 0
	fi
	if [[ -n $anchor && $abs == *.md && -f $abs ]]; then
		collect_anchors "$abs"
		[[ -n ${ANCHORS[$abs#$anchor]:-} ]] ||
			problem "$file" "$lineno" "link $target: no heading with the anchor #$anchor in ${abs#"$ROOT_REAL"/}"
	fi
}

check_links() { # root file
	local root=$1 file=$2 line lineno=0 fence=0 rest target
	while IFS= read -r line || [[ -n $line ]]; do
		lineno=$((lineno + 1))
		if [[ $line =~ ^[[:space:]]*\`\`\` ]]; then
			fence=$((!fence))
			continue
		fi
		((fence)) && continue
		[[ $line == *']'[\(:]* ]] || continue
		# inline code is not a link
		rest=$line
		while [[ $rest =~ \`[^\`]*\` ]]; do
			rest=${rest/"${BASH_REMATCH[0]}"/}
		done
		# reference definitions: [label]: target
		if [[ $rest =~ ^[[:space:]]*\[[^]]+\]:[[:space:]]+([^[:space:]]+) ]]; then
			check_link "$root" "$file" "$lineno" "${BASH_REMATCH[1]#<}"
		fi
		while [[ $rest =~ \]\(([^()[:space:]]*)([[:space:]]+\"[^\"]*\")?\) ]]; do
			target=${BASH_REMATCH[1]}
			rest=${rest/"${BASH_REMATCH[0]}"/}
			target=${target#<}
			target=${target%>}
			check_link "$root" "$file" "$lineno" "$target"
		done
	done <"$root/$file"
}

run_checks() { # root
	local root=$1 f
	ROOT_REAL=$(realpath "$root")
	ANCHORS=() ANCHORS_DONE=()
	if [[ -f $root/docs/getting-started.md ]]; then
		check_commands "$root" docs/getting-started.md
	else
		problem docs/getting-started.md 0 "missing"
	fi
	for f in "$root"/README.md "$root"/docs/*.md; do
		[[ -f $f ]] && check_links "$root" "${f#"$root"/}"
	done
	return 0
}

# ---- self-test ----

# A small repository that passes; each case then breaks one thing.
make_repo() { # dir
	mkdir -p "$1/docs" "$1/scripts" "$1/src"
	cat >"$1/meson.build" <<-'EOF'
		executable('l2lb-agent', 'a.c')
	EOF
	cat >"$1/src/meson.build" <<-'EOF'
		executable('l2lb', 'b.c')
	EOF
	printf 'build: deps\n\tninja\ndeps:\n\ttrue\n.PHONY: build deps\n' >"$1/Makefile"
	mkdir -p "$1/deploy/crds"
	cat >"$1/deploy/crds/pools.yaml" <<-'EOF'
		spec:
		  group: cilium.io
		  names:
		    kind: CiliumLoadBalancerIPPool
		  versions:
		  - name: v2
		    served: true
		  - name: v2alpha1
		    served: true
		  - name: v1old
		    served: false
	EOF
	printf '#!/bin/sh\n' >"$1/scripts/tool"
	chmod +x "$1/scripts/tool"
	cat >"$1/README.md" <<-'EOF'
		# Title
		[start](docs/getting-started.md), [the part](docs/getting-started.md#step-one--the-build),
		[again](docs/getting-started.md#usage-1), [here](#title) and [web](https://example.org/x).
		`[not a link](nowhere.md)`
		```
		[not a link either](nowhere.md)
		```
		[ref]: docs/getting-started.md
	EOF
	cat >"$1/docs/getting-started.md" <<-'MD'
		# Getting started
		## Step one — the `build`
		## Usage
		## Usage
		[back](../README.md#title)
		```sh
		make build
		build/l2lb-agent --help | grep x && scripts/tool; echo done   # comment | rm
		KUBECONFIG=/x sudo kubectl apply -f - <<EOF
		frobnicate: this is data
		EOF
		l2lb status \
		  frobnicate-continued
		```
		```yaml
		frobnicate: yaml is not a command
		apiVersion: cilium.io/v2alpha1
		kind: CiliumLoadBalancerIPPool
		---
		apiVersion: "cilium.io/v2"
		kind: CiliumLoadBalancerIPPool
		---
		apiVersion: v1
		kind: Service
		```
	MD
}

self_test() {
	local name file expr want out rc failed=0
	SELF_TEST_TMP=$(mktemp -d)
	trap 'rm -rf "$SELF_TEST_TMP"' EXIT
	local tmp=$SELF_TEST_TMP
	# case: sed expression applied to file, or "" for the clean repository;
	# each line: name%file%sed expression%text the report must contain
	while IFS='%' read -r name file expr want; do
		rm -rf "$tmp/repo"
		make_repo "$tmp/repo"
		if [[ -n $file ]]; then
			sed -i -e "$expr" "$tmp/repo/$file"
		fi
		rc=0
		out=$("$0" "$tmp/repo" 2>&1) || rc=$?
		if [[ -z $want ]]; then
			if ((rc != 0)); then
				echo "self-test $name: expected a pass, got exit $rc:"
				printf '%s\n' "$out"
				failed=1
			fi
		elif ((rc != 1)) || [[ $out != *"$want"* ]]; then
			echo "self-test $name: expected exit 1 with '$want', got exit $rc:"
			printf '%s\n' "$out"
			failed=1
		fi
	done <<-'EOF'
		clean%%%
		missing file%README.md%s#docs/getting-started.md)#docs/gone.md)#%link docs/gone.md: no such file docs/gone.md
		missing reference target%README.md%s#^\[ref\]: .*#[ref]: docs/gone.md#%link docs/gone.md: no such file
		bad anchor%README.md%s/#step-one--the-build/#step-two/%no heading with the anchor #step-two
		bad duplicate anchor%README.md%s/#usage-1/#usage-2/%no heading with the anchor #usage-2
		bad anchor in the same file%README.md%s/(#title)/(#nothing)/%no heading with the anchor #nothing
		outside the repository%docs/getting-started.md%s#(../README.md\#title)#(../../etc/passwd)#%leaves the repository
		unknown command%docs/getting-started.md%s/^make build$/frobnicate --now/%frobnicate: neither a program
		unknown command after a pipe%docs/getting-started.md%s/| grep x/| frobnicate x/%frobnicate: neither a program
		unknown make target%docs/getting-started.md%s/^make build$/make build nosuch/%make nosuch: no such target
		not a built program%docs/getting-started.md%s#build/l2lb-agent#build/l2lb-nothing#%build/l2lb-nothing: not a program
		missing script%docs/getting-started.md%s#scripts/tool#scripts/nothing#%scripts/nothing: no such executable
		unknown command in a continued line%docs/getting-started.md%s/^l2lb status/frobnicate status/%frobnicate: neither a program
		kind not in the CRDs%docs/getting-started.md%s/^kind: CiliumLoadBalancerIPPool$/kind: CiliumLoadBalancerPool/%kind CiliumLoadBalancerPool of apiVersion cilium.io/v2alpha1 is not served
		version not served%docs/getting-started.md%s#^apiVersion: "cilium.io/v2"$#apiVersion: cilium.io/v1old#%kind CiliumLoadBalancerIPPool of apiVersion cilium.io/v1old is not served
		unknown command in a bash block%docs/getting-started.md%s/^```sh$/```bash/;s/^make build$/frobnicate/%frobnicate: neither a program
	EOF
	return "$failed"
}

if [[ ${1:-} == --self-test ]]; then
	self_test
	exit
fi
if (($# != 1)) || [[ ! -d $1 ]]; then
	echo "usage: $0 ROOT | --self-test" >&2
	exit 2
fi
run_checks "$1"
if ((problems > 0)); then
	echo "$problems problem(s) in the docs" >&2
	exit 1
fi
echo "docs: $n_commands commands and $n_objects objects of deploy/crds in docs/getting-started.md, $n_links relative links in README.md, docs/*.md: ok"
