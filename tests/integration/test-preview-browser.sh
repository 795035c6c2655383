# Previews in a real browser (docs/previews.md): headless Chromium, driven by tests/browser/browse.mjs, opens
# grant links, preview URLs and the starting page of an idle-stopped sandbox, in one browser context as one
# user would, and the tests assert on what the pages show and on the cookies the browser keeps.
# The preview helpers (setup_previews, start_app, preview_url, grant_url, install_app) are those of
# test-previews.sh, whose own tests are not run from here.

. "$root/tests/integration/test-previews.sh"
unset -f $(declare -F | awk '$3 ~ /^test_/ {print $3}')

TIMEOUT_test_preview_browser_grants=300
TIMEOUT_test_preview_browser_wakes=240

# browse STEP...: tests/browser/browse.mjs in headless Chromium; one JSON line per step
browse() {
        [ -d "$root/tests/browser/node_modules/playwright-core" ] ||
                fail "tests/browser has no node_modules: run hack/install-deps.sh (npm ci there)"
        node "$root/tests/browser/browse.mjs" "$@"
}

# step OUT N: the Nth line (1-based) of browse's output
step() { sed -n "$2p" <<<"$1"; }

test_preview_browser_grants() {
        setup_previews
        local p ns a b pub out out3 host_a host_b
        p=$(new_project "  policy: {allowPublicPreviews: true}
  members: [{kind: User, name: bob, role: Developer}]")
        ns=mbox-$p
        wait_for "bob may create sandboxes" 30 \
                bash -c "[ \"\$(kubectl auth can-i create sandboxes.mbox.dev -n $ns --as=bob)\" = yes ]"
        # pub is the template's, so that the pod declares it (a KWOK pod forwards only the ports it declares)
        template "$ns" box "  ports: [{name: web, port: 8080}, {name: pub, port: 8081}]"
        sandbox "$ns" sa "  ports: [{name: web, port: 8080, visibility: Project}, {name: pub, port: 8081, visibility: Public}]"
        sandbox "$ns" sb "  ports: [{name: web, port: 8080, visibility: Project}]"
        wait_for "sandbox sa Running" 60 phase_is "$ns" sa Running
        wait_for "sandbox sb Running" 60 phase_is "$ns" sb Running
        start_app "$ns" sa app-a app-a 8080 8081
        start_app "$ns" sb app-b app-b 8080
        a=$(preview_url "$ns" sa web) b=$(preview_url "$ns" sb web) pub=$(preview_url "$ns" sa pub)
        host_a=${a#http://} host_a=${host_a%%:*} host_b=${b#http://} host_b=${host_b%%:*}

        # one browser: tab 1 opens A's link, tab 2 B's; reload tab 1; then B's host with A's cookie, in tab 3;
        # and the Public port, with no link at all, in tab 4
        out=$(browse open 1 "$(grant_url "$ns" bob sa web)" open 2 "$(grant_url "$ns" bob sb web)" cookies \
                reload 1 copy-cookie mbox_preview "$a" "$b" open 3 "$b" open 4 "$pub") ||
                fail "the browser failed: $out"
        log "$(jq -c 'del(.cookies) | if .text then .text |= .[0:100] else . end' <<<"$out")"

        assert_eq "200 $a" "$(step "$out" 1 | jq -r '"\(.status) \(.url)"')" "tab 1: the link lands on A's page"
        assert_contains "$(step "$out" 1 | jq -r .text)" "hello from app-a" "tab 1 shows A's app"
        assert_eq "200 $b" "$(step "$out" 2 | jq -r '"\(.status) \(.url)"')" "tab 2: the link lands on B's page"
        assert_contains "$(step "$out" 2 | jq -r .text)" "hello from app-b" "tab 2 shows B's app"

        # the browser holds one cookie per preview host: HttpOnly, host-only (no Domain, so no leading dot)
        out3=$(step "$out" 3 | jq -c '[.cookies[] | select(.name == "mbox_preview")]')
        assert_eq "$host_a $host_b" "$(jq -r 'map(.domain) | sort | join(" ")' <<<"$out3")" "one mbox_preview per host"
        assert_eq "true true" "$(jq -r 'map(.httpOnly) | join(" ")' <<<"$out3")" "HttpOnly"
        assert_eq "Lax Lax" "$(jq -r 'map(.sameSite) | join(" ")' <<<"$out3")" "SameSite=Lax"
        assert_eq 2 "$(jq -r 'map(.value) | unique | length' <<<"$out3")" "each host its own value"

        assert_eq 200 "$(step "$out" 4 | jq -r .status)" "tab 1 reloaded: its cookie still opens A"
        assert_contains "$(step "$out" 4 | jq -r .text)" "hello from app-a" "tab 1 reloaded shows A's app"
        # A's cookie on B's host does not open B
        assert_eq 401 "$(step "$out" 6 | jq -r .status)" "tab 3: B's host with A's cookie"
        assert_contains "$(step "$out" 6 | jq -r .text)" "This preview needs a preview link" "tab 3 shows the 401 page"
        [[ $(step "$out" 6 | jq -r .text) != *"hello from app-b"* ]] || fail "A's cookie opened B"
        # a Public port opens without a link
        assert_eq "200 $pub" "$(step "$out" 7 | jq -r '"\(.status) \(.url)"')" "tab 4: the Public port"
        assert_contains "$(step "$out" 7 | jq -r .text)" "hello from app-a" "tab 4 shows the app"
}

test_preview_browser_wakes() {
        setup_previews
        local p ns url out
        p=$(new_project "  policy: {allowPublicPreviews: true}")
        ns=mbox-$p
        # the template's own command serves the app, so the new pod after the stop serves it again
        template "$ns" web "  ports: [{name: web, port: 8080}]"
        kubectl -n "$ns" patch environmenttemplates.mbox.dev web --type=merge \
                -p "$(jq -n --arg s "$(install_app woken 8080) && exec tail -f /dev/null" '{spec: {command: ["sh", "-c", $s]}}')" >/dev/null
        TEMPLATE=web sandbox "$ns" idle "  ports: [{name: web, port: 8080, visibility: Public}]
  lifetime: {idleTimeout: 10s}"
        wait_for "sandbox idle Running" 60 phase_is "$ns" idle Running
        url=$(preview_url "$ns" idle web)
        wait_for "the app answers" 30 curl -fsS -o /dev/null "$url"
        wait_for "sandbox idle stopped by its idle timeout" 60 phase_is "$ns" idle Stopped

        # the browser gets the starting page, which reloads itself until the app answers
        out=$(browse open 1 "$url" wait 1 "hello from woken" 90) || fail "the browser failed: $out"
        log "$(jq -c '{step, status, documents, text: .text[0:100]}' <<<"$out")"
        assert_eq 503 "$(step "$out" 1 | jq -r .status)" "the first load, while the sandbox starts"
        assert_contains "$(step "$out" 1 | jq -r .text)" "Starting the sandbox" "what the browser shows first"
        assert_eq "200 $url" "$(step "$out" 2 | jq -r '"\(.status) \(.url)"')" "the page, once the sandbox runs"
        assert_contains "$(step "$out" 2 | jq -r .text)" "hello from woken" "the app of the new pod, in the same tab"
        [ "$(step "$out" 2 | jq '.documents | length')" -gt 1 ] ||
                fail "the page was loaded once: $(step "$out" 2 | jq -c .documents)"
        assert_eq 503 "$(step "$out" 2 | jq -r '.documents[0]')" "the first load was the starting page"
        phase_is "$ns" idle Running || fail "the sandbox runs again"
}
