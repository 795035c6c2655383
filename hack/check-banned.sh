#!/usr/bin/env bash
# Fails when C sources call functions the project bans (as curl and git do): unbounded copies, formats
# without a size, tokenizers with hidden state, number parsers without error reporting, non-reentrant time.
# Usage: hack/check-banned.sh FILE...
set -uo pipefail
banned='strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|atof|gets|gmtime|localtime|ctime|asctime|strncpy|getenv'
status=0
for f in "$@"; do
        case $f in *.c | *.h) ;; *) continue ;; esac
        # strip // comments and string literals roughly, then look for a call
        if grep -nE "(^|[^a-zA-Z0-9_>.])($banned)[[:space:]]*\(" "$f" | grep -vE '^\S+:\s*(/?\*|//)' >/tmp/banned.$$; then
                sed "s|^|$f:|; s|\$|   <- banned function|" /tmp/banned.$$
                status=1
        fi
done
rm -f /tmp/banned.$$
[ $status -eq 0 ] && echo "check-banned: ok"
exit $status
