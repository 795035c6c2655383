# The web console's server side on mbox-apiserver (docs/console.md), driven as a browser drives it: sign-in
# with a ServiceAccount token kept in an HttpOnly cookie, the proxy that sends every API call to
# kube-apiserver with that token (lists, watches, writes, a WebSocket exec), its guards, and the console's
# own files.

# start_console [FLAG...]: mbox-apiserver (registered for runtime.mbox.dev) with the console on a free port,
# serving DIST (a stand-in for web/dist unless set); sets CONSOLE (its URL) and ORIGIN.
start_console() {
        if [ -z "${DIST:-}" ]; then
                DIST=$(mktemp -d)
                printf 'dir %s\n' "$DIST" >>"$_cleanup_file"
                mkdir -p "$DIST/assets"
                printf '<!doctype html><title>mbox console</title>\n' >"$DIST/index.html"
                printf 'console.log("app")\n' >"$DIST/assets/index-4f3a2b.js"
                printf 'User-agent: *\n' >"$DIST/robots.txt"
        fi
        start_apiserver "" --console-listen=127.0.0.1:0 --console-dir="$DIST" "$@"
        wait_for "the console to listen" 20 grep -q 'msg="console listening"' "$APILOG"
        local port
        port=$(sed -nE 's/.*msg="console listening" .*port=([0-9]+).*/\1/p' "$APILOG" | head -n 1)
        CONSOLE=http://127.0.0.1:$port ORIGIN=http://127.0.0.1:$port
}

# account NS NAME: a ServiceAccount and a token for it (1 h), printed
account() {
        kubectl -n "$1" create serviceaccount "$2" >/dev/null 2>&1 || true
        kubectl -n "$1" create token "$2" --duration=1h
}

# signin TOKEN JAR: signs in, the cookie into JAR; prints the HTTP code
signin() {
        curl -s -o /dev/null -w '%{http_code}' -c "$2" -X POST -H 'Content-Type: application/json' \
                --data "{\"token\":\"$1\"}" "$CONSOLE/console/signin"
}

# as JAR CURL-ARGS...: a request with the cookie in JAR; the body on stdout, the HTTP code last on its own line
as() {
        local jar=$1
        shift
        curl -s -b "$jar" -w '\n%{http_code}' "$@"
}

code_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }

# member_project: a project with ServiceAccount dev (Developer) of namespace SANS (the operator started
# first unless it runs); sets NS, SANS, DEV (its token) and OUT (the token of outsider, another
# ServiceAccount of SANS that is no member)
member_project() {
        [ -n "${OPLOG:-}" ] || setup_operator
        SANS=$(new_namespace console)
        DEV=$(account "$SANS" dev)
        OUT=$(account "$SANS" outsider)
        NS=mbox-$(new_project "  members:
    - {kind: ServiceAccount, name: dev, namespace: $SANS, role: Developer}")
        wait_for "dev to be a Developer in $NS" 30 kubectl auth can-i list sandboxes.mbox.dev -n "$NS" \
                --as="system:serviceaccount:$SANS:dev"
}

# dev_console: the console, a member project with template box, and dev signed in, its cookie in JAR
dev_console() {
        start_console
        member_project
        JAR=$(new_jar)
        assert_eq 200 "$(signin "$DEV" "$JAR")" "dev signs in"
        template "$NS" box
}

new_jar() {
        local jar
        jar=$(mktemp)
        printf 'file %s\n' "$jar" >>"$_cleanup_file"
        printf '%s' "$jar"
}

test_signin_whoami_signout() {
        local ns tok jar hdr body r
        start_console
        ns=$(new_namespace console)
        tok=$(account "$ns" alice)
        jar=$(new_jar) hdr=$(new_jar) body=$(new_jar)
        curl -s -D "$hdr" -o "$body" -c "$jar" -X POST -H 'Content-Type: application/json' \
                --data "{\"token\":\"$tok\"}" "$CONSOLE/console/signin"
        assert_contains "$(head -n 1 "$hdr")" " 200" "sign-in with a good token"
        assert_eq "system:serviceaccount:$ns:alice" "$(jq -r .username "$body")" "the signed-in user"
        assert_contains "$(jq -c .groups "$body")" "system:serviceaccounts:$ns" "the user's groups"
        ! grep -qF "$tok" "$body" || fail "the sign-in answer holds the token: JavaScript could read it"
        r=$(grep -i '^set-cookie: mbox_console=' "$hdr") || fail "no mbox_console cookie: $(cat "$hdr")"
        assert_contains "$r" "HttpOnly" "the cookie is out of JavaScript's reach"
        assert_contains "$r" "SameSite=Strict" "the cookie stays on the console's own requests"
        assert_contains "$r" "Path=/" "the cookie's path"

        r=$(as "$jar" "$CONSOLE/console/whoami")
        assert_eq 200 "$(code_of "$r")" "whoami with the cookie"
        assert_eq "system:serviceaccount:$ns:alice" "$(body_of "$r" | jq -r .username)" "whoami's user"
        r=$(curl -s -w '\n%{http_code}' "$CONSOLE/console/whoami")
        assert_eq 401 "$(code_of "$r")" "whoami without a cookie"
        assert_contains "$(body_of "$r" | jq -r .message)" "not signed in" "why whoami refused"

        r=$(curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' --data '{"token":"not-a-token"}' \
                "$CONSOLE/console/signin")
        assert_eq 401 "$(code_of "$r")" "sign-in with a bad token"
        assert_eq Unauthorized "$(body_of "$r" | jq -r .reason)" "the Status reason of a bad token"
        assert_contains "$(body_of "$r" | jq -r .message)" "does not accept this token" "why a bad token is refused"
        r=$(curl -s -w '\n%{http_code}' -X POST --data "token=$tok" "$CONSOLE/console/signin")
        assert_eq 415 "$(code_of "$r")" "a sign-in that is not JSON (a form another site could post)"
        r=$(curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' --data '{"tok":1}' \
                "$CONSOLE/console/signin")
        assert_eq 400 "$(code_of "$r")" "a sign-in without a token"
        assert_contains "$(body_of "$r" | jq -r .message)" '{"token":' "what a sign-in body must be"

        curl -s -D "$hdr" -o /dev/null -b "$jar" -c "$jar" -X POST "$CONSOLE/console/signout"
        assert_contains "$(head -n 1 "$hdr")" " 204" "sign-out"
        assert_contains "$(grep -i '^set-cookie:' "$hdr")" "Max-Age=0" "sign-out clears the cookie"
        r=$(as "$jar" "$CONSOLE/console/whoami")
        assert_eq 401 "$(code_of "$r")" "whoami after sign-out"

        # a token that stops working (its ServiceAccount deleted) ends the session at the next request
        assert_eq 200 "$(signin "$tok" "$jar")" "signing in again"
        kubectl -n "$ns" delete serviceaccount alice >/dev/null
        # kube-apiserver keeps a token's review for a few seconds
        _refused() { [ "$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$CONSOLE/console/whoami")" = 401 ]; }
        wait_for "the deleted ServiceAccount's token to be refused" 30 _refused
        curl -s -D "$hdr" -o "$body" -b "$jar" "$CONSOLE/console/whoami"
        assert_contains "$(head -n 1 "$hdr")" " 401" "whoami once the token's ServiceAccount is gone"
        assert_contains "$(jq -r .message "$body")" "does not accept this token" "why whoami refused"
        assert_contains "$(grep -i '^set-cookie:' "$hdr")" "Max-Age=0" "the dead token's cookie is cleared"
        r=$(as "$jar" "$CONSOLE/api/v1/namespaces/$ns/pods")
        assert_eq 401 "$(code_of "$r")" "the proxy with the dead token (kube-apiserver's answer)"
}

test_proxy_as_the_user() {
        local jar ojar r
        dev_console
        jar=$JAR ojar=$(new_jar)
        assert_eq 200 "$(signin "$OUT" "$ojar")" "outsider signs in"

        r=$(as "$jar" "$CONSOLE/apis/mbox.dev/v1alpha1/namespaces/$NS/environmenttemplates")
        assert_eq 200 "$(code_of "$r")" "a member lists the project's templates"
        assert_eq box "$(body_of "$r" | jq -r '.items[0].metadata.name')" "the template listed"
        r=$(as "$ojar" "$CONSOLE/apis/mbox.dev/v1alpha1/namespaces/$NS/environmenttemplates")
        assert_eq 403 "$(code_of "$r")" "a non-member lists the project's templates"
        assert_contains "$(body_of "$r" | jq -r .message)" \
                "User \"system:serviceaccount:$SANS:outsider\" cannot list resource \"environmenttemplates\"" \
                "kube-apiserver's own message passes through"
        r=$(curl -s -w '\n%{http_code}' "$CONSOLE/api/v1/namespaces")
        assert_eq 401 "$(code_of "$r")" "the proxy without a cookie"
        assert_contains "$(body_of "$r" | jq -r .message)" "not signed in" "why the proxy refused"

        # writes need X-Mbox-Console: 1 (a form or an image of another site cannot set it)
        local sb='{"apiVersion":"mbox.dev/v1alpha1","kind":"Sandbox","metadata":{"name":"made-in-console"},"spec":{"templateRef":{"name":"box"}}}'
        r=$(as "$jar" -X POST -H 'Content-Type: application/json' --data "$sb" \
                "$CONSOLE/apis/mbox.dev/v1alpha1/namespaces/$NS/sandboxes")
        assert_eq 403 "$(code_of "$r")" "a POST without X-Mbox-Console"
        assert_contains "$(body_of "$r" | jq -r .message)" "X-Mbox-Console: 1" "why the POST was refused"
        gone "$NS" sandboxes.mbox.dev made-in-console || fail "the refused POST created the sandbox"
        r=$(as "$jar" -X POST -H 'X-Mbox-Console: 1' -H 'Content-Type: application/json' --data "$sb" \
                "$CONSOLE/apis/mbox.dev/v1alpha1/namespaces/$NS/sandboxes")
        assert_eq 201 "$(code_of "$r")" "a POST with X-Mbox-Console: $(body_of "$r")"
        kubectl -n "$NS" get sandboxes.mbox.dev made-in-console >/dev/null || fail "the POST did not create the sandbox"
        assert_eq "system:serviceaccount:$SANS:dev" "$(kubectl -n "$NS" get sandboxes.mbox.dev made-in-console \
                -o jsonpath='{.metadata.annotations.mbox\.dev/creator}')" "the sandbox's creator is the signed-in user"

        # the browser's own credentials and identity claims are dropped: the cookie's token is the only one
        r=$(as "$jar" -X POST -H 'X-Mbox-Console: 1' -H 'Content-Type: application/json' \
                -H 'Impersonate-User: system:admin' -H 'Impersonate-Group: system:masters' \
                -H 'X-Remote-User: system:admin' -H 'Authorization: Bearer not-a-token' \
                --data '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' \
                "$CONSOLE/apis/authentication.k8s.io/v1/selfsubjectreviews")
        assert_eq 201 "$(code_of "$r")" "a SelfSubjectReview with impersonation headers: $(body_of "$r")"
        assert_eq "system:serviceaccount:$SANS:dev" "$(body_of "$r" | jq -r .status.userInfo.username)" \
                "who kube-apiserver saw despite Impersonate-User and Authorization"
        r=$(as "$ojar" -H 'Impersonate-User: system:admin' "$CONSOLE/apis/mbox.dev/v1alpha1/namespaces/$NS/sandboxes")
        assert_eq 403 "$(code_of "$r")" "a non-member's list with Impersonate-User stays the non-member's"
        assert_contains "$(body_of "$r" | jq -r .message)" "system:serviceaccount:$SANS:outsider" "the refused user"
}

# what a pod, an app or an uploader controls never runs as the console's page
test_passed_on_answers_run_no_script() {
        local r h
        dev_console
        # answers passed on carry a sandboxing policy: an artifact's or a Status's document runs no script
        h=$(curl -s -b "$JAR" -D - -o /dev/null "$CONSOLE/apis/mbox.dev/v1alpha1/namespaces/$NS/environmenttemplates")
        assert_contains "$h" "Content-Security-Policy: sandbox; default-src 'none'" "the policy on a passed-on answer"
        assert_contains "$h" "X-Content-Type-Options: nosniff" "nosniff on a passed-on answer"
        # proxy subresources (an app's own pages) are refused, however the path is spelled
        local path
        for path in "api/v1/namespaces/$NS/pods/evil:8080/proxy/index.html" \
                "api/v1/namespaces/$NS/services/web/proxy/" "api/v1/nodes/n1/proxy/metrics" \
                "apis/runtime.mbox.dev/v1alpha1/namespaces/$NS/sandboxes/sb/proxy/8080/" \
                "api/v1/namespaces/$NS/pods/evil/%70roxy/"; do
                r=$(as "$JAR" "$CONSOLE/$path")
                assert_eq 403 "$(code_of "$r")" "GET /$path through the console"
                assert_contains "$(body_of "$r" | jq -r .message)" "does not pass on proxy subresources" "why /$path was refused"
        done
        # a sandbox named proxy is no subresource
        r=$(as "$JAR" "$CONSOLE/apis/mbox.dev/v1alpha1/namespaces/$NS/sandboxes/proxy")
        assert_eq 404 "$(code_of "$r")" "GET of a sandbox named proxy (none exists)"
        # an empty cookie, or two of them (another service of this host may set one), is no sign-in
        r=$(curl -s -w '\n%{http_code}' -H 'Cookie: mbox_console=' "$CONSOLE/api/v1/namespaces")
        assert_eq 401 "$(code_of "$r")" "the proxy with an empty cookie"
        assert_contains "$(body_of "$r" | jq -r .message)" "not signed in" "why the empty cookie was refused"
        r=$(as "$JAR" -H "Cookie: mbox_console=$OUT" "$CONSOLE/api/v1/namespaces/$NS/events")
        assert_eq 401 "$(code_of "$r")" "the proxy with two mbox_console cookies"
        # a Connection field naming the framing would separate the body from its length
        r=$(as "$JAR" -X POST -H 'X-Mbox-Console: 1' -H 'Connection: keep-alive, Content-Length' \
                -H 'Content-Type: application/json' --data '{}' "$CONSOLE/api/v1/namespaces/$NS/configmaps")
        assert_eq 400 "$(code_of "$r")" "a Connection field that names Content-Length"
        assert_contains "$(body_of "$r" | jq -r .message)" "may not name Content-Length" "why it was refused"
        # a refusal kube-apiserver sends before reading a large body still reaches the browser
        head -c 3000000 /dev/zero | tr '\0' 'a' | jq -Rc '{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "big"}, data: {a: .}}' >"$JAR.big"
        printf 'file %s\n' "$JAR.big" >>"$_cleanup_file"
        r=$(as "$JAR" -X POST -H 'X-Mbox-Console: 1' -H 'Content-Type: application/json' --data-binary "@$JAR.big" \
                "$CONSOLE/api/v1/namespaces/$NS/configmaps")
        case $(code_of "$r") in 4??) ;; *) fail "a 3 MB ConfigMap through the console: HTTP $(code_of "$r"), expected kube-apiserver's refusal" ;; esac
        assert_eq Status "$(body_of "$r" | jq -r .kind)" "the refusal of a 3 MB body is a Status"
}

test_watch_streams_events() {
        local jar rv out pid
        dev_console
        jar=$JAR out=$(new_jar)
        rv=$(curl -s -b "$jar" "$CONSOLE/apis/mbox.dev/v1alpha1/namespaces/$NS/sandboxes" | jq -r .metadata.resourceVersion)
        [ -n "$rv" ] && [ "$rv" != null ] || fail "no resourceVersion from the list"
        curl -s -N -b "$jar" "$CONSOLE/apis/mbox.dev/v1alpha1/namespaces/$NS/sandboxes?watch=1&resourceVersion=$rv&timeoutSeconds=60" >"$out" &
        pid=$!
        printf 'pid %s\n' "$pid" >>"$_cleanup_file"
        sleep 1
        sandbox "$NS" watched
        _added() { jq -r 'select(.type == "ADDED") | .object.metadata.name' "$out" 2>/dev/null | grep -qx watched; }
        wait_timed "the ADDED event through the console's watch" 10 _added
        kill -0 "$pid" 2>/dev/null || fail "the watch ended after its first event"
        kubectl -n "$NS" annotate sandboxes.mbox.dev watched console-test=1 >/dev/null
        _modified() { jq -r 'select(.type == "MODIFIED") | .object.metadata.annotations["console-test"]' "$out" 2>/dev/null | grep -qx 1; }
        wait_timed "the MODIFIED event on the same watch" 10 _modified
}

# ws_exec URL ORIGIN JAR: a WebSocket exec (v5.channel.k8s.io) as a browser opens it, with the cookie of
# JAR; prints stdout, or the refusal's code and body on stderr (exit 2)
ws_exec() {
        local tok
        tok=$(awk '$6 == "mbox_console" {print $7}' "$3")
        WS_MODULE="$root/sdk/typescript/node_modules/ws" node -e '
                const WebSocket = require(process.env.WS_MODULE);
                const [url, origin, tok] = process.argv.slice(1);
                const ws = new WebSocket(url, ["v5.channel.k8s.io"], {headers: {Cookie: "mbox_console=" + tok, Origin: origin}});
                let out = "", got = 0;
                const send = Number(process.env.STDIN_BYTES || 0);
                ws.on("message", (d) => { const b = Buffer.from(d); if (b[0] === 1) { got += b.length - 1; if (!send) out += b.subarray(1).toString(); } });
                ws.on("close", () => { process.stdout.write(send ? String(got) : out); process.exit(0); });
                setTimeout(() => { process.stderr.write(`stalled: ${got} bytes back after 120 s`); process.exit(3); }, 120000).unref();
                // STDIN_BYTES: that much stdin (channel 0) as fast as the socket takes it, then its end (channel 255)
                ws.on("open", async () => {
                        const chunk = Buffer.concat([Buffer.from([0]), Buffer.alloc(64 * 1024, 120)]);
                        for (let sent = 0; sent < send; sent += 64 * 1024)
                                await new Promise((ok, bad) => ws.send(chunk, (e) => (e ? bad(e) : ok())));
                        if (send) ws.send(Buffer.from([255, 0]));
                });
                ws.on("unexpected-response", (req, res) => {
                        let body = "";
                        res.on("data", (c) => (body += c));
                        res.on("end", () => { process.stderr.write(res.statusCode + " " + body); process.exit(2); });
                });
                ws.on("error", (e) => { process.stderr.write(e.message); process.exit(1); });
        ' "$1" "$2" "$tok"
}

test_websocket_exec() {
        local jar out err rc=0 url pod
        # the ws package of the SDK's pinned modules (npm ci when its lockfile changed)
        make -s -C "$root" sdk/typescript/node_modules/.mbox-lock.json >&2 || fail "npm ci in sdk/typescript"
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        dev_console
        jar=$JAR err=$(new_jar)
        sandbox "$NS" s1
        wait_for "s1 Running" 60 phase_is "$NS" s1 Running
        pod=$(kubectl -n "$NS" get msb s1 -o jsonpath='{.status.podName}')
        wait_for "exec config for $pod" 30 kubectl -n "$NS" get exec.kwok.x-k8s.io "$pod"
        url="ws${CONSOLE#http}/apis/runtime.mbox.dev/v1alpha1/namespaces/$NS/sandboxes/s1/exec?command=echo&command=hi&stdout=true"
        out=$(ws_exec "$url" "$ORIGIN" "$jar" 2>"$err") || fail "the WebSocket exec failed: $(cat "$err")"
        assert_eq hi "$(tr -d '\r' <<<"$out")" "the output of 'echo hi' through the console's WebSocket"
        # a page of another site may open a WebSocket with the console's cookie: its Origin gives it away
        out=$(ws_exec "$url" "http://evil.example" "$jar" 2>"$err") || rc=$?
        assert_eq 2 "$rc" "a WebSocket from another origin (stdout: $out)"
        assert_contains "$(cat "$err")" "403" "the refusal of another origin"
        assert_contains "$(cat "$err")" "the console's own page" "why another origin is refused"
}

# a lot both ways at once (a large paste while the command prints it back), on a real container: the
# kubelet stops reading stdin while its stdout waits, so a relay that moves one direction at a time stalls
test_websocket_both_ways_at_once() {
        local ns tok jar err out node
        node=$(kubectl get nodes -l mbox.dev/node=real -o jsonpath='{.items[0].metadata.name}')
        [ -n "$node" ] || fail "the stack has no real node (hack/node.sh runs only as root)"
        make -s -C "$root" sdk/typescript/node_modules/.mbox-lock.json >&2 || fail "npm ci in sdk/typescript"
        start_console
        ns=$(new_namespace console-exec)
        tok=$(account "$ns" execer)
        kubectl -n "$ns" create role exec --verb=get,create --resource=pods,pods/exec >/dev/null
        kubectl -n "$ns" create rolebinding exec --role=exec --serviceaccount="$ns:execer" >/dev/null
        real_node_pod "$ns" cat "tail -f /dev/null"
        kubectl -n "$ns" wait --for=condition=Ready pod/cat --timeout=90s >/dev/null || fail "pod cat is not Ready"
        jar=$(new_jar) err=$(new_jar)
        assert_eq 200 "$(signin "$tok" "$jar")" "execer signs in"
        out=$(STDIN_BYTES=$((8 * 1024 * 1024)) ws_exec \
                "ws${CONSOLE#http}/api/v1/namespaces/$ns/pods/cat/exec?command=cat&stdin=true&stdout=true" \
                "$ORIGIN" "$jar" 2>"$err") || fail "8 MiB through cat over the console's WebSocket: $(cat "$err")"
        assert_eq $((8 * 1024 * 1024)) "$out" "bytes cat gave back of 8 MiB of stdin"
}

test_files_and_their_guards() {
        local hdr r
        start_console
        hdr=$(new_jar)
        r=$(curl -s -D "$hdr" "$CONSOLE/")
        assert_contains "$r" "<title>mbox console</title>" "/ serves index.html"
        assert_contains "$(cat "$hdr")" "Cache-Control: no-cache" "index.html is asked for again each time"
        assert_contains "$(cat "$hdr")" "Content-Security-Policy: default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:" "the CSP"
        assert_contains "$(cat "$hdr")" "X-Content-Type-Options: nosniff" "nosniff"
        assert_contains "$(cat "$hdr")" "Referrer-Policy: no-referrer" "the referrer policy"
        assert_contains "$(cat "$hdr")" "X-Frame-Options: DENY" "no framing"
        r=$(curl -s -D "$hdr" "$CONSOLE/projects/demo/sandboxes/s1")
        assert_contains "$r" "<title>mbox console</title>" "an app route falls back to index.html"
        assert_contains "$(cat "$hdr")" "text/html" "the fallback's type"
        r=$(curl -s -D "$hdr" "$CONSOLE/assets/index-4f3a2b.js")
        assert_contains "$r" 'console.log("app")' "an asset"
        assert_contains "$(cat "$hdr")" "immutable" "hashed assets are cached for long"
        assert_contains "$(cat "$hdr")" "text/javascript" "the asset's type"
        assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "$CONSOLE/assets/missing-1234.js")" "a missing file (not an app route)"
        assert_eq 400 "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$CONSOLE/../../etc/passwd")" "/../"
        assert_eq 400 "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$CONSOLE/assets/../../index.html")" "a/../"
        assert_eq 400 "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$CONSOLE/%2e%2e/%2e%2e/etc/passwd")" "%2e%2e"
        assert_eq 400 "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$CONSOLE/assets%2f..%2f..%2fetc%2fpasswd")" "%2f"
        assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$CONSOLE/index.html")" "a POST to a file"
        assert_eq 431 "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$CONSOLE/")" \
                "a request head over 16 KiB"
        # before make web: a page that says what to do
        rm -rf "$DIST"
        r=$(curl -s -D "$hdr" "$CONSOLE/")
        assert_contains "$(head -n 1 "$hdr")" " 503" "the console without its files"
        assert_contains "$r" "make web" "what to do when the console is not built"
}
