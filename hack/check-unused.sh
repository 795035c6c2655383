#!/usr/bin/env bash
# Lists the public functions of libmbox that nothing calls but the tests: such a function is dead (remove
# it with its tests), or waits for its first caller (name it in hack/unused-allowed.txt with the work that
# brings the caller). Fails when it finds one. A function that only its own file calls is alive; whether
# it should be static is for review (a pure function exported for its unit test may stay public).
# Usage: hack/check-unused.sh [BUILD-DIR]   (after `make`: it reads the library's objects)
set -euo pipefail
build=${1:-build}
allowed=$(sed 's/[[:space:]]*#.*//; /^$/d' hack/unused-allowed.txt)
# the sources the Makefile builds into the library (a wildcard: new files too, added to git or not)
mapfile -t objs < <(ls pkg/*.c pkg/*/*.c | sed "s|^|$build/|; s|\.c\$|.o|")
# every symbol an object of the library needs from another: the calls between files, macros expanded
used=$(for o in "${objs[@]}"; do nm --undefined-only "$o" | awk '{print $2}'; done | sort -u)
status=0
for o in "${objs[@]}"; do
        src=${o#"$build"/}
        src=${src%.o}.c
        while read -r sym; do
                grep -qxF "$sym" <<<"$allowed" && continue
                grep -qxF "$sym" <<<"$used" && continue
                # the programs, the command line and the benchmarks are built from their own folders;
                # DEFINE_TRIVIAL_CLEANUP_FUNC's <name>p calls <name>
                git grep -qwE -- "${sym}p?" -- operator apiserver cli bench && continue
                [ "$(grep -cw -- "$sym" "$src")" -gt 1 ] && continue
                echo "$src: $sym has no caller outside the tests"
                status=1
        done < <(nm --defined-only "$o" | awk '$2 == "T" {print $3}')
done
[ $status -eq 0 ] && echo "check-unused: ok"
exit $status
