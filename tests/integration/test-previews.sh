# Previews as users open them (docs/previews.md): the URL in a sandbox's status.previewURLs, fetched with curl
# (a browser's requests: Host PORT--SANDBOX--PROJECT.preview.localhost) from the preview gateway of
# mbox-apiserver, which passes them to an app in the sandbox.
#
# KWOK pods have no network: the gateway reaches them through pods/portforward, which KWOK serves by
# running the pod directory's .kwok-port-PORT once per connection with the connection on stdin and stdout
# (hack/kwok-pods.sh). The app (testdata/preview-app.py) is written for that: it serves one connection.

TIMEOUT_test_preview_gateway=300
TIMEOUT_test_preview_wakes_an_idle_sandbox=240

APP=$root/tests/integration/testdata/preview-app.py
# install_app NAME PORT...: the shell commands that write the app into the working directory and make it the
# server of each PORT (its pages name NAME); compressed, as a command's argument holds at most 4 KiB
install_app() {
        local p
        printf 'echo %s | base64 -d | gunzip >app.py' "$(gzip -9c "$APP" | base64 -w0)"
        for p in "${@:2}"; do
                printf " && printf '#!/bin/sh\\nAPP_NAME=%s exec python3 app.py\\n' >.kwok-port-%s && chmod +x .kwok-port-%s" "$1" "$p" "$p"
        done
}

# free_port: a free loopback port
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# setup_previews [OPERATOR-FLAG...]: the operator and mbox-apiserver with a preview gateway on PP (domain
# preview.localhost:PP)
setup_previews() {
        PP=$(free_port)
        setup_operator --preview-domain="preview.localhost:$PP" "$@"
        start_apiserver "" --preview-listen="127.0.0.1:$PP" --preview-domain="preview.localhost:$PP" \
                --preview-transport=port-forward --preview-access-flush-interval=1s
}

# preview_url NS SANDBOX PORT: the URL status.previewURLs names for the port
preview_url() {
        kubectl -n "$1" get sandboxes.mbox.dev "$2" -o json | jq -r --arg p "$3" '.status.previewURLs[]? | select(.name == $p) | .url'
}

# start_app NS SANDBOX TASK NAME PORT...: an ExecutionTask that installs the app in the sandbox as the
# server of each PORT, its pages naming NAME
start_app() {
        jq -n --arg ns "$1" --arg sb "$2" --arg name "$3" --arg s "$(install_app "${@:4}")" '{apiVersion: "mbox.dev/v1alpha1",
                kind: "ExecutionTask", metadata: {name: $name, namespace: $ns},
                spec: {sandboxRef: {name: $sb}, command: ["sh", "-c", $s]}}' | kubectl apply -f - >/dev/null
        wait_for "task $3 Succeeded" 60 task_succeeded "$1" "$3"
}
task_succeeded() { [ "$(kubectl -n "$1" get executiontasks.mbox.dev "$2" -o jsonpath='{.status.phase}')" = Succeeded ]; }

# gw URL [CURL-ARGS...]: curl to a preview URL; prints the body, then the status on a last line
gw() {
        local url=$1
        shift
        curl -sS --max-time 60 -w '\n%{http_code}' "$@" "$url"
}

# ws_echo URL MESSAGE: a WebSocket client: the handshake, one text message, the echo printed
ws_echo() {
        python3 - "$1" "$2" <<'PY'
import base64, os, socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
s = socket.create_connection(("127.0.0.1", u.port), timeout=30)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
print(head.split(b"\r\n")[0].decode())
msg = sys.argv[2].encode()
mask = os.urandom(4)
s.sendall(bytes([0x81, 0x80 | len(msg)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
h = s.recv(2)
print(s.recv(h[1] & 0x7F).decode())
PY
}

test_preview_gateway() {
        setup_previews
        local p ns url out tmp rss0 rss1
        p=$(new_project "  policy: {allowPublicPreviews: true}")
        ns=mbox-$p
        template "$ns" box "  ports: [{name: web, port: 8080}, {name: api, port: 8081}]"
        sandbox "$ns" box "  ports: [{name: web, port: 8080, visibility: Public}]"
        wait_for "sandbox box Running" 60 phase_is "$ns" box Running
        url=$(preview_url "$ns" box web)
        assert_eq "http://web--box--$p.preview.localhost:$PP/" "$url" "the preview URL in status"
        assert_eq "Public Private" "$(kubectl -n "$ns" get sandboxes.mbox.dev box -o json |
                jq -r '[.status.previewURLs[] | .visibility] | join(" ")')" "the visibility of each port in status"

        start_app "$ns" box app box-app 8080 8081
        out=$(gw "$url")
        assert_eq 200 "$(tail -n 1 <<<"$out")" "the app's page"
        assert_contains "$out" "hello from box-app" "the app's page"
        # keep-alive: curl's second request goes over the same connection, and so does the gateway's
        out=$(curl -sS "$url" "$url")
        assert_contains "$out" "request 2 on this connection" "one upstream connection for a kept-alive client"

        # what the app is told, and what it is not: the gateway's cookie goes, the app's stays
        out=$(curl -sS -H 'Cookie: mbox_preview=secret; app=1' -H 'X-Forwarded-For: 10.1.2.3' "${url}headers")
        assert_eq "app=1" "$(jq -r .cookie <<<"$out")" "the app's cookies only"
        assert_eq "10.1.2.3, 127.0.0.1" "$(jq -r '.["x-forwarded-for"]' <<<"$out")" "X-Forwarded-For"
        assert_eq "web--box--$p.preview.localhost:$PP" "$(jq -r '.["x-forwarded-host"]' <<<"$out")" "X-Forwarded-Host"
        assert_eq "http" "$(jq -r '.["x-forwarded-proto"]' <<<"$out")" "X-Forwarded-Proto"
        assert_eq "hello world" "$(curl -sS "${url}chunked")" "a chunked response"
        assert_contains "$(curl -sS -i "${url}set-cookie")" "Set-Cookie: app=1; Path=/" "the app sets its own cookies"

        # bodies stream both ways: a 64 MiB chunked upload and a 100 MiB download, with flat memory
        tmp=$(mktemp -d)
        printf 'dir %s\n' "$tmp" >>"$_cleanup_file"
        head -c $((64 * 1024 * 1024)) /dev/urandom >"$tmp/up"
        rss0=$(awk '/VmHWM/ {print $2}' "/proc/$APIPID/status")
        out=$(curl -sS -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/up" "${url}sum")
        assert_eq "$(sha256sum <"$tmp/up" | cut -d' ' -f1) 67108864" "$out" "the upload as the app read it"
        out=$(curl -sS "${url}bytes?n=104857600" | wc -c)
        assert_eq 104857600 "$out" "a 100 MiB download"
        rss1=$(awk '/VmHWM/ {print $2}' "/proc/$APIPID/status")
        log "mbox-apiserver peak RSS ${rss0} KiB before, ${rss1} KiB after 164 MiB through the gateway"
        [ $((rss1 - rss0)) -lt 32768 ] || fail "mbox-apiserver's peak memory grew by $((rss1 - rss0)) KiB: bodies are held"

        # what a client sends past a short body is the next request, however much comes in one burst (a
        # request of 60 KB after a body of 1 byte: 431 for it, and the gateway goes on serving)
        out=$(python3 - "$url" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
s = socket.create_connection(("127.0.0.1", u.port), timeout=30)
s.sendall((f"POST /sum HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Length: 1\r\n\r\nx").encode() + b"y" * 60000)
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
import re
print(" ".join(re.findall(r"HTTP/1\.1 (\d{3}) ", got.decode(errors="replace"))))
PY
)
        assert_eq "200 431" "$out" "a 1-byte body followed by 60 KB: the answer, then 431 for what followed"
        assert_contains "$(curl -sS "$url")" "hello from box-app" "the gateway serves on"
        # a client cannot say where the request came from
        out=$(curl -sS -H 'X-Forwarded-Host: evil.example' -H 'X-Forwarded-Proto: https' -H 'Forwarded: host=evil' \
                "${url}headers")
        assert_eq "web--box--$p.preview.localhost:$PP http null" \
                "$(jq -r '[.["x-forwarded-host"], .["x-forwarded-proto"], (.forwarded // "null")] | join(" ")' <<<"$out")" \
                "forged X-Forwarded-Host, -Proto and Forwarded are replaced"

        # a WebSocket through the gateway, switched only once the app answered 101
        out=$(ws_echo "${url}ws" "hi there")
        assert_eq "HTTP/1.1 101 Switching Protocols" "$(head -n 1 <<<"$out")" "the app's 101"
        assert_eq "echo: hi there" "$(tail -n 1 <<<"$out")" "the echo"

        # mbox preview url: a Public port's link is its URL
        assert_eq "$url" "$("$root/build/mbox" preview url -n "$ns" box web)" "mbox preview url of a Public port"

        # a port of the template (Private) needs a grant; so does Public where the project does not allow it
        url=$(preview_url "$ns" box api)
        out=$(gw "$url" -H 'Accept: text/html')
        assert_eq 401 "$(tail -n 1 <<<"$out")" "a private port without a grant"
        assert_contains "$out" "Port api of sandbox box is private" "why"
        out=$(gw "$url" -H 'Cookie: mbox_preview=forged.token')
        assert_eq 401 "$(tail -n 1 <<<"$out")" "a forged cookie"

        # hosts that are not a preview, and requests that are not HTTP
        out=$(gw "http://nope--box--$p.preview.localhost:$PP/")
        assert_eq 404 "$(tail -n 1 <<<"$out")" "an unknown preview host"
        out=$(gw "http://127.0.0.1:$PP/")
        assert_eq 404 "$(tail -n 1 <<<"$out")" "the gateway's address without a preview host"
        out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n' |
                timeout 10 python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",'"$PP"')); s.sendall(sys.stdin.buffer.read()); print(s.recv(100).decode().split("\r\n")[0])')
        assert_eq "HTTP/1.1 400 Bad Request" "$out" "a request with two framings (smuggling) is refused"
        out=$(python3 -c 'import socket; s=socket.create_connection(("127.0.0.1",'"$PP"')); s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"); print(s.recv(100).decode().split("\r\n")[0])')
        assert_eq "HTTP/1.1 431 Request Header Fields Too Large" "$out" "a head past 16 KiB"
}

test_preview_wakes_an_idle_sandbox() {
        setup_previews
        local p ns url out
        p=$(new_project "  policy: {allowPublicPreviews: true}")
        ns=mbox-$p
        # the template's own command serves the app, so a new pod after a stop serves it again
        template "$ns" web "  ports: [{name: web, port: 8080}]"
        kubectl -n "$ns" patch environmenttemplates.mbox.dev web --type=merge \
                -p "$(jq -n --arg s "$(install_app woken 8080) && exec tail -f /dev/null" '{spec: {command: ["sh", "-c", $s]}}')" >/dev/null
        TEMPLATE=web sandbox "$ns" idle "  ports: [{name: web, port: 8080, visibility: Public}]
  lifetime: {idleTimeout: 10s}"
        wait_for "sandbox idle Running" 60 phase_is "$ns" idle Running
        url=$(preview_url "$ns" idle web)
        wait_for "the app answers" 30 curl -fsS -o /dev/null "$url"
        wait_for "sandbox idle stopped by its idle timeout" 60 phase_is "$ns" idle Stopped
        assert_eq IdleTimeout "$(reason "$ns" idle)" "why it stopped"
        assert_eq "$url" "$(preview_url "$ns" idle web)" "a stopped sandbox keeps its preview URL"

        # a browser gets a page that reloads itself while the sandbox starts
        out=$(gw "$url" -H 'Accept: text/html')
        assert_eq 503 "$(tail -n 1 <<<"$out")" "a browser while the sandbox starts"
        assert_contains "$out" 'http-equiv="refresh"' "the starting page reloads itself"
        # an API client's request is held until the sandbox runs, then served
        out=$(gw "$url")
        assert_eq 200 "$(tail -n 1 <<<"$out")" "a held request, served once the sandbox runs"
        assert_contains "$out" "hello from woken" "the app of the new pod"
        phase_is "$ns" idle Running || fail "the sandbox runs again"
        wait_for "a Woken event" 20 event_is "$ns" idle reason Woken
        assert_eq 1 "$(kubectl -n "$ns" get events --field-selector involvedObject.name=idle,reason=Woken -o name | wc -l)" \
                "one wake, one event"
        # requests are activity: the sandbox does not stop under them
        for _ in $(seq 15); do
                curl -fsS -o /dev/null "$url" || fail "a request while the sandbox runs"
                sleep 1
        done
        phase_is "$ns" idle Running || fail "requests every second keep a sandbox with a 10s idle timeout running"
}

# grant_url NS USER SANDBOX PORT [TTL]: a preview link minted by USER (kubectl create of a PreviewGrant)
grant_url() {
        kubectl -n "$1" --as="$2" create -o jsonpath='{.status.url}' -f - <<YAML
apiVersion: runtime.mbox.dev/v1alpha1
kind: PreviewGrant
spec: {sandbox: $3, port: $4${5:+, ttlSeconds: $5}}
YAML
}

TIMEOUT_test_preview_grants_and_the_proxy=300

test_preview_grants_and_the_proxy() {
        setup_previews
        local p ns web api other url jar out expiring started raw
        p=$(new_project "  members:
    - {kind: User, name: alice, role: Developer}
    - {kind: User, name: bob, role: Developer}
    - {kind: User, name: dave, role: Admin}")
        ns=mbox-$p
        wait_for "alice may create sandboxes" 30 \
                bash -c "[ \"\$(kubectl auth can-i create sandboxes.mbox.dev -n $ns --as=alice)\" = yes ]"
        template "$ns" box "  ports: [{name: web, port: 8080}, {name: api, port: 8081}]"
        # alice's sandbox: web for the project, api (the template's) private; Public asked for but not allowed
        kubectl --as=alice apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Sandbox
metadata: {name: box, namespace: $ns}
spec:
  templateRef: {name: box}
  ports: [{name: web, port: 8080, visibility: Project}, {name: pub, port: 8082, visibility: Public}]
YAML
        sandbox "$ns" box2 "  ports: [{name: web, port: 8080, visibility: Project}]"
        wait_for "sandbox box Running" 60 phase_is "$ns" box Running
        wait_for "sandbox box2 Running" 60 phase_is "$ns" box2 Running
        start_app "$ns" box app box-app 8080 8081 8082
        start_app "$ns" box2 app2 box2-app 8080
        web=$(preview_url "$ns" box web) api=$(preview_url "$ns" box api) other=$(preview_url "$ns" box2 web)
        assert_eq Project "$(kubectl -n "$ns" get sandboxes.mbox.dev box -o json |
                jq -r '.status.previewURLs[] | select(.name == "pub") | .visibility')" "Public where the project does not allow it"
        expiring=$(grant_url "$ns" bob box web 60)
        started=$(date +%s)

        # without a grant: refused, saying how to get one
        out=$(gw "$web" -H 'Accept: text/html')
        assert_eq 401 "$(tail -n 1 <<<"$out")" "a Project port without a grant"
        assert_contains "$out" "preview link" "the page says what opens it"
        out=$(gw "$(preview_url "$ns" box pub)")
        assert_eq 401 "$(tail -n 1 <<<"$out")" "a Public port in a project without public previews"

        # a grant's link sets a host-only HttpOnly cookie and goes on to the page; the cookie opens the port
        url=$(grant_url "$ns" bob box web)
        assert_contains "$url" "${web}.mbox/grant?token=" "the link is the preview URL with a token"
        jar=$(mktemp)
        printf 'file %s\n' "$jar" >>"$_cleanup_file"
        out=$(curl -sS -i -c "$jar" "$url&next=/headers")
        assert_contains "$out" "HTTP/1.1 303" "the link redirects"
        assert_contains "$out" "Location: /headers" "to the page asked for"
        assert_contains "$(grep -i '^Set-Cookie' <<<"$out")" "HttpOnly; SameSite=Lax" "the cookie is HttpOnly"
        [[ $(grep -i '^Set-Cookie' <<<"$out") != *Domain=* ]] || fail "the cookie names no Domain: host-only"
        out=$(gw "$web" -b "$jar")
        assert_eq 200 "$(tail -n 1 <<<"$out")" "the port with the grant's cookie"
        assert_contains "$out" "hello from box-app" "the app's page"
        out=$(curl -sS -b "$jar" "${web}headers")
        [ "$(jq -r '.cookie // ""' <<<"$out")" = "" ] || fail "the gateway's cookie reached the app: $out"
        # the cookie opens neither another port nor another sandbox, even sent there by hand
        raw=$(awk '$6 == "mbox_preview" {print $7}' "$jar")
        [ -n "$raw" ] || fail "no cookie in the jar"
        assert_eq 401 "$(gw "$api" -H "Cookie: mbox_preview=$raw" | tail -n 1)" "the cookie on another port"
        assert_eq 401 "$(gw "$other" -H "Cookie: mbox_preview=$raw" | tail -n 1)" "the cookie on another sandbox"
        # nor does a link on another port's host
        out=$(gw "${api}.mbox/grant?token=${url##*token=}")
        assert_eq 403 "$(tail -n 1 <<<"$out")" "a link used on another port"
        assert_contains "$out" "made for another sandbox or port" "why"
        # next= stays on the preview's host, whatever it hides (a tab browsers drop, //host, /\\host)
        for bad in '/%09/evil.example' '//evil.example' '/%5Cevil.example' 'https://evil.example'; do
                out=$(curl -sS -i "$url&next=$bad" | tr -d '\r' | grep -i '^Location:')
                assert_eq "Location: /" "$out" "next=$bad"
        done

        # the private port: bob (a Developer who did not create it) may not mint; alice and dave may
        refused "bob's grant for alice's private port" "Private" grant_url "$ns" bob box api
        out=$(curl -sS -L -c "$jar" -b "$jar" "$(grant_url "$ns" alice box api)")
        assert_contains "$out" "hello from box-app" "the creator opens the private port"
        out=$(curl -sS -L -c "$jar" -b "$jar" "$(grant_url "$ns" dave box api)")
        assert_contains "$out" "hello from box-app" "a project admin opens the private port"

        # mbox preview url mints a grant with the caller's rights (here the cluster admin's)
        out=$("$root/build/mbox" preview url -n "$ns" box web --ttl 2m)
        assert_contains "$out" "${web}.mbox/grant?token=" "mbox preview url of a Project port"
        assert_contains "$(curl -sS -L -c "$jar.2" -b "$jar.2" "$out")" "hello from box-app" "its link opens the preview"
        printf 'file %s\n' "$jar.2" >>"$_cleanup_file"
        refused "mbox preview url of a port the sandbox does not have" 'has no preview port "nope"' \
                "$root/build/mbox" preview url -n "$ns" box nope

        # sandboxes/proxy for API clients: kubectl get --raw and create --raw, authorized per user
        raw=/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/sandboxes/box/proxy
        assert_contains "$(kubectl --as=bob get --raw "$raw/web/")" "hello from box-app" "GET through sandboxes/proxy"
        out=$(kubectl --as=bob get --raw "$raw/web/headers")
        assert_eq "" "$(jq -r '(.authorization // ""), (.["x-remote-user"] // ""), (.["impersonate-user"] // "")' <<<"$out" | tr -d '\n')" \
                "no credentials reach the app"
        head -c 300000 /dev/urandom >"$jar.up"
        printf 'file %s\n' "$jar.up" >>"$_cleanup_file"
        out=$(kubectl --as=bob create --raw "$raw/web/sum" -f "$jar.up")
        assert_eq "$(sha256sum <"$jar.up" | cut -d' ' -f1) 300000" "$out" "a POST body through sandboxes/proxy"
        refused "bob through the proxy to a private port" "is Private" kubectl --as=bob get --raw "$raw/api/"
        assert_contains "$(kubectl --as=alice get --raw "$raw/api/")" "hello from box-app" "alice, its creator"
        refused "an outsider" "Forbidden" kubectl --as=mallory get --raw "$raw/web/"
        refused "a port the sandbox does not have" "no preview port named" kubectl --as=bob get --raw "$raw/nope/"

        # the access log: bob's requests through the proxy by name, the browser's by the grant that let it in
        # (bob made 3 requests through the proxy that reached the app, and was refused a private port once)
        proxied_by_bob() {
                [ "$(kubectl -n "$ns" get previewaccesses --field-selector spec.user=bob,spec.via=Proxy -o json |
                        jq -r '[.items[].status.requests] | add // 0')" -ge 4 ]
        }
        wait_for "bob's proxy requests in the access log" 20 proxied_by_bob
        out=$(kubectl -n "$ns" get previewaccesses --field-selector spec.via=Gateway,spec.sandbox=box -o json |
                jq -r '[.items[] | select(.spec.grant != null and .spec.port == "web") | .status.responses["2xx"]] | add')
        [ "${out:-0}" -ge 2 ] || fail "the browser's requests with bob's grant counted: $out"

        # a grant's maker is asked again while the cookie lives: the port made Private closes it to bob (not
        # its creator, no admin), Project again opens it
        kubectl --as=alice -n "$ns" patch sandboxes.mbox.dev box --type=json \
                -p '[{"op": "replace", "path": "/spec/ports/0/visibility", "value": "Private"}]' >/dev/null
        web_is() { [ "$(gw "$web" -b "$jar" | tail -n 1)" = "$1" ]; }
        wait_for "bob's cookie refused once web is Private" 30 web_is 403
        assert_contains "$(gw "$web" -b "$jar" -H 'Accept: text/html')" \
                "Port web of sandbox box is Private now, and bob, who made this preview link, may not open it." "why"
        kubectl --as=alice -n "$ns" patch sandboxes.mbox.dev box --type=json \
                -p '[{"op": "replace", "path": "/spec/ports/0/visibility", "value": "Project"}]' >/dev/null
        wait_for "bob's cookie opens web once it is Project again" 30 web_is 200
        # bob leaves the project: his cookie and his links end within the authorization cache's time
        kubectl patch projects.mbox.dev "$p" --type=json -p '[{"op": "remove", "path": "/spec/members/1"}]' >/dev/null
        wait_for "bob's cookie refused once he left the project" 40 web_is 403
        assert_contains "$(gw "$web" -b "$jar")" "bob, who made this preview link, may no longer open previews of sandbox box." \
                "why, once he left"
        out=$(gw "$url")
        assert_eq 403 "$(tail -n 1 <<<"$out")" "bob's link, once he left"
        assert_contains "$out" "may no longer open previews" "why the link no longer opens it"

        # a link past its expiry no longer opens the preview
        sleep $((started + 62 - $(date +%s)))
        out=$(gw "$expiring")
        assert_eq 403 "$(tail -n 1 <<<"$out")" "an expired link"
        assert_contains "$out" "expired" "why"
}
