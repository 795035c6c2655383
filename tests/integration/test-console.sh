# The web console in a real browser: headless Chromium (Debian's, driven by web/e2e/console.mjs through
# playwright-core) on mbox-apiserver's console listener, signed in as a Developer member of the demo
# project with a ServiceAccount token. It launches a sandbox from the busybox template on the stack's real
# node, types in its terminal, runs a task, watches the history grow, stops and starts it, moves with the
# keyboard alone, and visits every view at 1280x800 and 390x844 with a screenshot (kept in
# $MBOX_STATE_DIR/test-output/console) and an axe-core check that finds no serious or critical violation.
# A second test opens a preview from the Preview tab: the grant's link in a new tab shows the app a task
# started in a KWOK sandbox.
# setup_real (the demo project, its busybox template on the real node) is that of test-real-node.sh, the
# preview app's helpers (free_port, start_app) those of test-previews.sh; their own tests are not run here.

. "$root/tests/integration/test-real-node.sh"
. "$root/tests/integration/test-previews.sh"
unset -f $(declare -F | awk '$3 ~ /^test_/ {print $3}')

TIMEOUT_test_console_in_a_browser=900
TIMEOUT_test_console_opens_a_preview=300

# start_console [FLAG...]: mbox-apiserver (with FLAGs) and its console listener on a free loopback port,
# serving web/dist; sets CONSOLE_URL
start_console() {
        [ -f "$root/web/dist/index.html" ] || fail "web/dist is not built: run make web"
        start_apiserver "" --console-listen=127.0.0.1:0 --console-dir="$root/web/dist" "$@"
        wait_for "the console listener" 20 grep -q 'msg="console listening"' "$APILOG"
        CONSOLE_URL=$(sed -nE 's/.*msg="console listening" .*port=([0-9]+).*/http:\/\/127.0.0.1:\1/p' "$APILOG" | head -n 1)
        [ -n "$CONSOLE_URL" ] || fail "no console port in the apiserver's log: $(grep -i console "$APILOG" | tail -3)"
}

# developer_token PROJECT NS ACCOUNT: a ServiceAccount made a Developer member of PROJECT; prints a 1 h token
developer_token() {
        kubectl -n "$2" create serviceaccount "$3" >/dev/null
        kubectl patch projects.mbox.dev "$1" --type=merge -p "$(jq -nc --arg ns "$2" --arg n "$3" \
                '{spec: {members: [{kind: "ServiceAccount", name: $n, namespace: $ns, role: "Developer"}]}}')" >/dev/null
        wait_for "$3 may create sandboxes" 30 bash -c \
                "[ \"\$(kubectl auth can-i create sandboxes.mbox.dev -n $2 --as=system:serviceaccount:$2:$3)\" = yes ]"
        kubectl -n "$2" create token "$3" --duration=1h
}

# out_dir: where the screenshots go
out_dir() {
        local d=${MBOX_TEST_OUTPUT:-$MBOX_STATE_DIR/test-output}/console
        mkdir -p "$d"
        printf '%s' "$d"
}

# e2e OUT-DIR: the browser's run; one JSON line per step
e2e() {
        [ -d "$root/web/node_modules/playwright-core" ] || fail "web has no node_modules: run make web"
        node "$root/web/e2e/console.mjs" "$@"
}

# seen STEP FILTER: jq FILTER on the line of STEP
seen() { jq -r "select(.step == \"$1\") | $2" <<<"$OUT"; }

test_console_in_a_browser() {
        local out_dir sa=console-dev
        setup_real
        start_console
        TOKEN=$(developer_token demo "$NS" "$sa")
        out_dir=$(out_dir)
        log "console at $CONSOLE_URL, screenshots in $out_dir"
        OUT=$(e2e "$CONSOLE_URL" "$TOKEN" demo busybox-terminal web1 "$out_dir") || fail "the browser failed: $(tail -n 1 <<<"$OUT" | jq -c . 2>/dev/null || tail -n 3 <<<"$OUT")"
        log "$(jq -c 'del(.text)' <<<"$OUT" | cut -c1-300)"

        # sign-in: a bad token is refused with the server's message; the cookie is not readable by the page
        [ -n "$(seen signin .refused)" ] || fail "a bad token was not refused"
        assert_eq "system:serviceaccount:$NS:$sa" "$(seen signin .user)" "the signed-in user"
        assert_eq "" "$(seen signin .documentCookie)" "document.cookie (the token cookie is HttpOnly)"
        # launch: a name that is taken is refused with the server's message
        assert_contains "$(seen launch-taken .refusal)" 'already exists' "launching as an existing sandbox"
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
        # the keyboard: arrows between tabs, Escape cancels the stop, Tab reaches the actions
        assert_eq tab-events "$(seen keyboard .focused)" "ArrowRight from History focuses Events"
        assert_eq Running "$(seen keyboard .phase)" "the stop Escape cancelled did not stop"
        assert_eq "Stop web1" "$(seen keyboard .reached)" "Tab from the top reaches the Stop button"
        # every view at both sizes, without a horizontal scroll bar on the phone
        assert_eq 28 "$(jq -s '[.[] | select(.step | test("^(desktop|phone)-"))] | length' <<<"$OUT")" "views visited"
        assert_eq "" "$(jq -r 'select(.step | test("^phone-")) | select(.horizontalOverflow > 0) | .step' <<<"$OUT")" \
                "phone views wider than the screen"
        [ "$(find "$out_dir" -name 'flow-*.png' -o -name 'desktop-*.png' -o -name 'phone-*.png' | wc -l)" -ge 37 ] ||
                fail "screenshots missing in $out_dir"
        # a member sees the sandbox's workspace claim: the template's 1Gi, Bound
        assert_contains "$(seen storage .claims)" "1Gi" "the workspace claim's size on the Storage tab"
        assert_contains "$(seen storage .claims)" "Bound" "the workspace claim's state on the Storage tab"
        # a 403 says what the role lacks: a Developer saving a template
        assert_contains "$(seen forbidden .alert)" 'Permission needed' "a refused template edit"
        assert_contains "$(seen forbidden .alert)" 'cannot update resource "environmenttemplates"' "the missing permission"
        # signed out: the cookie is gone
        assert_eq 401 "$(seen signout .whoamiAfter)" "whoami after signing out"
        # the walkthrough's project goes while the operator still runs, as a user's delete would: the tests
        # after this one find no namespace of its still ending
        kubectl delete projects.mbox.dev demo --timeout=120s >/dev/null || fail "project demo was not deleted"
        wait_timed "namespace mbox-demo gone" 300 gone "" namespace mbox-demo
}

test_console_opens_a_preview() {
        local p ns pp token
        pp=$(free_port)
        setup_operator --preview-domain="preview.localhost:$pp"
        start_console --preview-listen="127.0.0.1:$pp" --preview-domain="preview.localhost:$pp" --preview-transport=port-forward
        p=$(new_project)
        ns=mbox-$p
        token=$(developer_token "$p" "$ns" dev)
        template "$ns" box "  ports: [{name: web, port: 8080}]"
        sandbox "$ns" sa "  ports: [{name: web, port: 8080, visibility: Project}]"
        wait_for "sandbox sa Running" 60 phase_is "$ns" sa Running
        start_app "$ns" sa app-a app-a 8080
        OUT=$(e2e preview "$CONSOLE_URL" "$token" "$p" sa web "$(out_dir)") ||
                fail "the browser failed: $(tail -n 1 <<<"$OUT" | jq -c . 2>/dev/null || tail -n 3 <<<"$OUT")"
        log "$(jq -c . <<<"$OUT" | cut -c1-300)"
        assert_contains "$(seen preview .ports)" "Project" "the port's visibility on the Preview tab"
        assert_eq "$(preview_url "$ns" sa web)" "$(seen preview .url)" "the new tab's URL: the port's preview URL"
        assert_contains "$(seen preview .text)" "hello from app-a" "the new tab shows the app"
}
