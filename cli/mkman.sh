#!/usr/bin/env bash
# Writes the mbox(1) man page on stdout from the help text of the mbox binary given: `mbox --help` for
# the synopsis and the command list, then each command's --help, so the page never says other than the
# program. Usage: cli/mkman.sh build/mbox > build/mbox.1
set -euo pipefail
mbox=$1
# roff: a backslash doubled, a line starting with . or ' escaped
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
commands=$("$mbox" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \(.\{20\}\).*/\1/p' | sed 's/ *$//')
cat <<ROFF
.TH MBOX 1 "" "mbox" "User Commands"
.SH NAME
mbox \- the command line of mbox, Kubernetes-native sandboxes (also kubectl mbox)
.SH SYNOPSIS
.B mbox
.I COMMAND
[\fIOPTION\fR]... [\fIARG\fR]...
.SH DESCRIPTION
.nf
$("$mbox" --help | esc)
.fi
.SH COMMANDS
ROFF
while IFS= read -r c; do
        [ -n "$c" ] || continue
        printf '.SS "mbox %s"\n.nf\n' "$c"
        # shellcheck disable=SC2086 # a noun and its verb are two words
        "$mbox" $c --help | esc
        printf '.fi\n'
done <<<"$commands"
cat <<'ROFF'
.SH EXIT STATUS
0 when all went well, 1 for an error (one line on standard error naming the object and the reason), 2 for
bad usage (an unknown flag, a bad value, a missing argument);
.B mbox exec
passes on the command's own exit code.
.SH ENVIRONMENT
.TP
.B KUBECONFIG
the kubeconfig files, as for kubectl (default ~/.kube/config)
.SH SEE ALSO
.BR kubectl (1)
ROFF
