# Preview grants as users get them (docs/previews.md): project members impersonated with kubectl --as mint
# signed links with `kubectl create -f` through runtime.mbox.dev, each refusal with its reason; and the
# creator of each Sandbox, stamped by the admission policies of manifests/base/admission-creator.yaml.

TIMEOUT_test_preview_grants=300

# grants_project: a project with alice and bob (Developer), carol (Viewer) and dave (Admin), and another
# with eve (Developer); sets NS and OTHER
grants_project() {
        NS=mbox-$(new_project "  members:
    - {kind: User, name: alice, role: Developer}
    - {kind: User, name: bob, role: Developer}
    - {kind: User, name: carol, role: Viewer}
    - {kind: User, name: dave, role: Admin}")
        OTHER=mbox-$(new_project "  members: [{kind: User, name: eve, role: Developer}]")
        template "$NS" box
        wait_for "alice may create sandboxes" 30 \
                bash -c "[ \"\$(kubectl auth can-i create sandboxes.mbox.dev -n $NS --as=alice)\" = yes ]"
}

creator() { kubectl -n "$NS" get sandboxes.mbox.dev "$1" -o jsonpath='{.metadata.annotations.mbox\.dev/creator}'; }

# grant USER SANDBOX PORT [TTL]: kubectl create of a PreviewGrant as USER; prints the object as JSON
grant() {
        kubectl -n "$NS" --as="$1" create -o json -f - <<YAML
apiVersion: runtime.mbox.dev/v1alpha1
kind: PreviewGrant
spec: {sandbox: $2, port: $3${4:+, ttlSeconds: $4}}
YAML
}

# claims URL: the claims of the token in a grant's URL, as JSON
claims() {
        local p=${1##*token=}
        p=${p%%.*}
        p=$(printf '%s' "$p" | tr '_-' '/+')
        while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
        printf '%s' "$p" | base64 -d
}

test_the_creator_of_a_sandbox_is_recorded_and_kept() {
        setup_operator
        grants_project
        # a forged creator is overwritten with the authenticated user's name
        kubectl --as=alice apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Sandbox
metadata: {name: mine, namespace: $NS, annotations: {mbox.dev/creator: mallory}}
spec:
  templateRef: {name: box}
  state: Stopped
YAML
        assert_eq alice "$(creator mine)" "the creator of a sandbox alice created, naming mallory"
        kubectl --as=bob -n "$NS" create -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Sandbox
metadata: {name: bobs}
spec: {templateRef: {name: box}, state: Stopped}
YAML
        assert_eq bob "$(creator bobs)" "the creator of bob's sandbox"

        # nobody changes it afterwards, not even an admin; other changes go through and keep it
        refused "bob takes alice's sandbox" "cannot be changed (it is \"alice\")" \
                kubectl --as=bob -n "$NS" annotate --overwrite sandboxes.mbox.dev mine mbox.dev/creator=bob
        refused "dave (admin) rewrites the creator" "set by mbox when the sandbox is created" \
                kubectl --as=dave -n "$NS" annotate --overwrite sandboxes.mbox.dev mine mbox.dev/creator=dave
        refused "bob removes the creator" "cannot be changed" \
                kubectl --as=bob -n "$NS" annotate sandboxes.mbox.dev mine mbox.dev/creator-
        kubectl --as=bob -n "$NS" label sandboxes.mbox.dev mine team=web >/dev/null || fail "a label is refused"
        kubectl --as=bob -n "$NS" patch sandboxes.mbox.dev mine --type=merge -p '{"spec":{"displayName":"Mine"}}' \
                >/dev/null || fail "a spec change is refused"
        assert_eq alice "$(creator mine)" "the creator after bob's changes"
}

test_preview_grants() {
        # the operator writes preview URLs for a gateway's domain (no gateway runs here: grants only)
        setup_operator --preview-domain=preview.localhost:18480
        start_apiserver
        grants_project
        local url web admin j now exp
        kubectl --as=alice apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Sandbox
metadata: {name: app, namespace: $NS}
spec:
  templateRef: {name: box}
  ports:
    - {name: web, port: 8080, visibility: Project}
    - {name: admin, port: 9090, visibility: Private}
YAML
        wait_for "sandbox app Running" 60 phase_is "$NS" app Running
        web=$(kubectl -n "$NS" get sandboxes.mbox.dev app -o jsonpath='{.status.previewURLs[?(@.name=="web")].url}')
        admin=$(kubectl -n "$NS" get sandboxes.mbox.dev app -o jsonpath='{.status.previewURLs[?(@.name=="admin")].url}')
        [ -n "$web" ] && [ -n "$admin" ] || fail "no preview URLs: $(kubectl -n "$NS" get sandboxes.mbox.dev app -o jsonpath='{.status}')"

        # a developer mints a link to a Project port: the port's URL with a signed token, valid ttlSeconds
        j=$(grant alice app web) || fail "alice's grant: $j"
        now=$(date +%s)
        url=$(jq -r .status.url <<<"$j")
        assert_eq "${web}.mbox/grant?token=" "${url%%token=*}token=" "the grant's URL is the port's, with a token"
        [ ${#url} -gt $((${#web} + 80)) ] || fail "the token is too short to be signed: $url"
        exp=$(date -d "$(jq -r .status.expirationTimestamp <<<"$j")" +%s)
        [ $((exp - now)) -ge 290 ] && [ $((exp - now)) -le 310 ] || fail "expires in $((exp - now)) s, not 300"
        assert_eq "PreviewGrant app web 300" "$(jq -r '"\(.kind) \(.spec.sandbox) \(.spec.port) \(.spec.ttlSeconds)"' <<<"$j")" \
                "the grant as answered"
        j=$(claims "$url")
        assert_eq "alice $NS app web $(kubectl -n "$NS" get sandboxes.mbox.dev app -o jsonpath='{.metadata.uid}')" \
                "$(jq -r '"\(.user) \(.ns) \(.sb) \(.port) \(.uid)"' <<<"$j")" "who and what the token names"
        assert_eq 32 "$(jq -r '.id | length' <<<"$j")" "the grant's id"

        # kubectl create -f FILE -o jsonpath, as docs/previews.md shows it; ttlSeconds chosen
        local f
        f=$(mktemp)
        printf 'file %s\n' "$f" >>"$_cleanup_file"
        printf 'apiVersion: runtime.mbox.dev/v1alpha1\nkind: PreviewGrant\nspec: {sandbox: app, port: web, ttlSeconds: 120}\n' >"$f"
        url=$(kubectl -n "$NS" --as=bob create -f "$f" -o jsonpath='{.status.url}') || fail "kubectl create -f: $url"
        assert_contains "$url" "${web}.mbox/grant?token=" "the URL kubectl prints"
        exp=$(jq -r .exp <<<"$(claims "$url")")
        [ $((exp - $(date +%s))) -ge 110 ] && [ $((exp - $(date +%s))) -le 130 ] || fail "ttlSeconds 120 gave $((exp - $(date +%s))) s"

        # a viewer mints one for a Project port
        j=$(grant carol app web) || fail "carol (viewer) for a Project port: $j"
        assert_eq carol "$(jq -r .user <<<"$(claims "$(jq -r .status.url <<<"$j")")")" "the viewer's grant"

        # a Private port: its creator and project admins, nobody else
        refused "bob for alice's Private port" "Forbidden" grant bob app admin
        assert_contains "$REFUSAL" 'the port "admin" of sandbox app is Private: only its creator (alice) and project admins' \
                "who may open a Private port"
        refused "carol (viewer) for a Private port" "is Private" grant carol app admin
        j=$(grant alice app admin) || fail "the creator for her Private port: $j"
        assert_contains "$(jq -r .status.url <<<"$j")" "${admin}.mbox/grant?token=" "the creator's grant for admin"
        j=$(grant dave app admin) || fail "an admin for a Private port: $j"
        assert_eq dave "$(jq -r .user <<<"$(claims "$(jq -r .status.url <<<"$j")")")" "the admin's grant"

        # a member of another project cannot mint one here
        refused "eve from another project" 'cannot create resource "previewgrants"' grant eve app web
        # nor can someone allowed to create grants but not to open previews: the link would never open
        kubectl -n "$NS" create role grants-only --verb=create --resource=previewgrants.runtime.mbox.dev >/dev/null
        kubectl -n "$NS" create rolebinding frank --role=grants-only --user=frank >/dev/null
        wait_for "frank may create grants" 20 bash -c "[ \"\$(kubectl auth can-i create previewgrants.runtime.mbox.dev -n $NS --as=frank)\" = yes ]"
        refused "frank, who may not open previews" "frank may not open previews of sandbox app (get on sandboxes/proxy)" \
                grant frank app web

        # what to fix, each with its status
        refused "an unknown port" 'NotFound' grant alice app nope
        assert_contains "$REFUSAL" 'sandbox app has no port "nope"; its ports: web, admin' "the ports named"
        refused "an unknown sandbox" 'sandbox "ghost" not found' grant alice ghost web
        refused "a sandbox name that is no name" "spec.sandbox: Invalid value: must be a Sandbox name" grant alice ../x web
        refused "ttlSeconds too short" "spec.ttlSeconds: Invalid value: must be an integer from 60 to 3600" grant alice app web 5
        refused "ttlSeconds too long" "spec.ttlSeconds" grant alice app web 3601
        refused "an unknown field" 'unknown field "spec.colour"' kubectl -n "$NS" --as=alice create -f - <<YAML
apiVersion: runtime.mbox.dev/v1alpha1
kind: PreviewGrant
spec: {sandbox: app, port: web, colour: red}
YAML
        # a stopped sandbox keeps its preview URLs (a request to one stopped by its idle timeout wakes it):
        # a grant for it is made as for a running one
        kubectl --as=alice -n "$NS" patch sandboxes.mbox.dev app --type=merge -p '{"spec":{"state":"Stopped"}}' >/dev/null
        wait_for "sandbox app Stopped" 60 phase_is "$NS" app Stopped
        assert_contains "$(grant alice app web | jq -r .status.url)" "${web}.mbox/grant?token=" "a grant for a stopped sandbox"
}
