# The web console in a real browser: headless Chromium (Debian's, driven by web/e2e/console.mjs through
# playwright-core) on mbox-apiserver's console listener, signed in as a Developer member of the demo
# project with a ServiceAccount token. It launches a sandbox from the busybox template on the stack's real
# node, types in its terminal, runs a task, watches the history grow, stops and starts it, and visits every
# view at 1280x800 and 390x844 with a screenshot (kept in $MBOX_STATE_DIR/test-output/console) and an
# axe-core check that finds no serious or critical violation.
# setup_real (the demo project, its busybox template on the real node) is that of test-real-node.sh, whose
# own tests are not run from here.

. "$root/tests/integration/test-real-node.sh"
unset -f $(declare -F | awk '$3 ~ /^test_/ {print $3}')

TIMEOUT_test_console_in_a_browser=900

# start_console: mbox-apiserver with its console listener on a free loopback port, serving web/dist; sets
# CONSOLE_URL
start_console() {
        [ -f "$root/web/dist/index.html" ] || fail "web/dist is not built: run make web"
        start_apiserver "" --console-listen=127.0.0.1:0 --console-dir="$root/web/dist"
        wait_for "the console listener" 20 grep -q 'msg="console listening"' "$APILOG"
        CONSOLE_URL=$(sed -nE 's/.*msg="console listening" .*port=([0-9]+).*/http:\/\/127.0.0.1:\1/p' "$APILOG" | head -n 1)
        [ -n "$CONSOLE_URL" ] || fail "no console port in the apiserver's log: $(grep -i console "$APILOG" | tail -3)"
}

# developer_token NS ACCOUNT: a ServiceAccount made a Developer member of project demo; prints a 1 h token
developer_token() {
        kubectl -n "$1" create serviceaccount "$2" >/dev/null
        kubectl patch projects.mbox.dev demo --type=merge -p "$(jq -nc --arg ns "$1" --arg n "$2" \
                '{spec: {members: [{kind: "ServiceAccount", name: $n, namespace: $ns, role: "Developer"}]}}')" >/dev/null
        wait_for "$2 may create sandboxes" 30 bash -c \
                "[ \"\$(kubectl auth can-i create sandboxes.mbox.dev -n $1 --as=system:serviceaccount:$1:$2)\" = yes ]"
        kubectl -n "$1" create token "$2" --duration=1h
}

# e2e OUT-DIR: the browser's run; one JSON line per step
e2e() {
        [ -d "$root/web/node_modules/playwright-core" ] || fail "web has no node_modules: run make web"
        node "$root/web/e2e/console.mjs" "$CONSOLE_URL" "$TOKEN" demo busybox-terminal web1 "$1"
}

# seen STEP FILTER: jq FILTER on the line of STEP
seen() { jq -r "select(.step == \"$1\") | $2" <<<"$OUT"; }

test_console_in_a_browser() {
        local out_dir sa=console-dev
        setup_real
        start_console
        TOKEN=$(developer_token "$NS" "$sa")
        out_dir=${MBOX_TEST_OUTPUT:-$MBOX_STATE_DIR/test-output}/console
        rm -rf "$out_dir"
        log "console at $CONSOLE_URL, screenshots in $out_dir"
        OUT=$(e2e "$out_dir") || fail "the browser failed: $(tail -n 1 <<<"$OUT" | jq -c . 2>/dev/null || tail -n 3 <<<"$OUT")"
        log "$(jq -c 'del(.text)' <<<"$OUT" | cut -c1-300)"

        # sign-in: a bad token is refused with the server's message; the cookie is not readable by the page
        [ -n "$(seen signin .refused)" ] || fail "a bad token was not refused"
        assert_eq "system:serviceaccount:$NS:$sa" "$(seen signin .user)" "the signed-in user"
        assert_eq "" "$(seen signin .documentCookie)" "document.cookie (the token cookie is HttpOnly)"
        # launch: the derived names before launching, then the sandbox as kubectl sees it
        assert_contains "$(seen launch .derived)" "$NS" "the derived namespace is shown before launch"
        assert_contains "$(seen launch .derived)" "mbox-sandbox" "the derived ServiceAccount is shown before launch"
        assert_eq busybox-terminal "$(kubectl -n "$NS" get sandboxes.mbox.dev web1 -o jsonpath='{.spec.templateRef.name}')" \
                "the launched sandbox's template"
        # terminal: the shell's answer on screen, and a terminal session recorded as the member
        assert_contains "$(seen terminal '.screen | join("\n")')" "42" "the terminal shows echo \$((6*7))"
        assert_contains "$(kubectl -n "$NS" get sessions.runtime.mbox.dev -o json |
                jq -r '.items[] | select(.spec.sandbox == "web1" and .spec.kind == "terminal") | .spec.user.name')" \
                "system:serviceaccount:$NS:$sa" "the terminal's session record names the member"
        # tasks: output and exit code on screen, as the ExecutionTask has them
        assert_contains "$(seen tasks .output)" "task-says-hi" "the task's stdout"
        assert_contains "$(seen tasks .output)" "to-stderr" "the task's stderr"
        assert_contains "$(seen tasks .result)" "exit code 3" "the task's exit code"
        assert_eq 3 "$(kubectl -n "$NS" get executiontasks.mbox.dev -o json |
                jq -r '[.items[] | select(.spec.sandboxRef.name == "web1")][0].status.exitCode')" "the task's exitCode"
        # history grows with the stop and the start; the sandbox runs again
        [ "$(seen stop .states)" -gt "$(seen history .states)" ] || fail "the history did not grow with the stop"
        [ "$(seen start .states)" -gt "$(seen stop .states)" ] || fail "the history did not grow with the start"
        assert_eq Running "$(seen start .phase)" "the phase shown after the start"
        phase_is "$NS" web1 Running || fail "web1 is not Running after the start"
        # every view at both sizes, without a horizontal scroll bar on the phone
        assert_eq 28 "$(jq -s '[.[] | select(.step | test("^(desktop|phone)-"))] | length' <<<"$OUT")" "views visited"
        assert_eq "" "$(jq -r 'select(.step | test("^phone-")) | select(.horizontalOverflow > 0) | .step' <<<"$OUT")" \
                "phone views wider than the screen"
        [ "$(find "$out_dir" -name '*.png' | wc -l)" -ge 34 ] || fail "screenshots missing in $out_dir"
        # signed out: the cookie is gone
        assert_eq 401 "$(seen signout .whoamiAfter)" "whoami after signing out"
}
