# The TypeScript SDK (sdk/typescript, docs/sdk.md) against the stack: its node --test integration suites,
# its example, and what `npm pack` would publish. The suites act as a project Developer and Viewer do,
# with kubeconfigs of ServiceAccounts bound to the project roles.

SDK=$root/sdk/typescript
TIMEOUT_test_sdk_suites=600

# sdk_build: the package's modules and dist/ (npm ci when the lockfile changed, then tsc)
sdk_build() {
        if ! cmp -s "$SDK/package-lock.json" "$SDK/node_modules/.mbox-lock.json"; then
                (cd "$SDK" && npm ci --no-audit --no-fund --loglevel=error) >&2 || fail "npm ci in sdk/typescript"
                cp "$SDK/package-lock.json" "$SDK/node_modules/.mbox-lock.json"
        fi
        (cd "$SDK" && npm run --silent build) >&2 || fail "the SDK does not build"
}

# member FILE SA ROLE: a kubeconfig for ServiceAccount SA of NS bound to the project role ROLE
member() {
        local tok
        kubectl -n "$NS" create serviceaccount "$2" >/dev/null
        kubectl -n "$NS" create rolebinding "$2" --clusterrole="$3" --serviceaccount="$NS:$2" >/dev/null
        tok=$(kubectl -n "$NS" create token "$2" --duration=2h) || fail "no token for $2"
        cp "$KUBECONFIG" "$1"
        KUBECONFIG=$1 kubectl config set-credentials "$2" --token="$tok" >/dev/null
        KUBECONFIG=$1 kubectl config set-context --current --user="$2" --namespace="$NS" >/dev/null
}

# sdk_project: the operator (with the database), mbox-apiserver, a project whose default template is box,
# and kubeconfigs of its Developer and Viewer; exports what the suites read (MBOX_SDK_*).
sdk_project() {
        sdk_build
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox" --preview-domain=preview.localhost:18480
        start_apiserver
        PROJECT=$(new_project)
        NS=mbox-$PROJECT
        template "$NS" box
        kubectl patch projects.mbox.dev "$PROJECT" --type=merge -p '{"spec":{"defaultTemplate":{"name":"box"}}}' >/dev/null
        T=$(mktemp -d)
        printf 'dir %s\n' "$T" >>"$_cleanup_file"
        member "$T/dev" dev mbox-developer
        member "$T/viewer" viewer mbox-viewer
        wait_for "the developer's role to apply" 20 kubectl --kubeconfig "$T/dev" auth can-i create sandboxes.mbox.dev
        export MBOX_SDK_PROJECT=$PROJECT MBOX_SDK_KUBECONFIG=$T/dev MBOX_SDK_VIEWER_KUBECONFIG=$T/viewer \
                MBOX_SDK_STATE_DIR=$MBOX_STATE_DIR
}

test_sdk_suites() {
        sdk_project
        (cd "$SDK" && node --test --test-concurrency=1 --test-timeout=240000 test/integration/) >&2 ||
                fail "the SDK's integration suites failed (above)"
}

test_sdk_example() {
        sdk_project
        local out
        out=$(cd "$SDK" && node examples/seed.mjs --project "$PROJECT" --kubeconfig "$T/dev" \
                --command 'sh -c "echo ok > report.txt"' --report report.txt 2>&1) || fail "the example failed: $out"
        log "$out"
        assert_contains "$out" "exit code 0" "the example's command"
        local art
        art=$(kubectl -n "$NS" get artifacts -o jsonpath='{.items[*].spec.kind}')
        assert_eq report "$art" "one artifact of kind report, registered by the example"
        name=$(kubectl -n "$NS" get artifacts -o jsonpath='{.items[0].metadata.name}')
        assert_eq ok "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$NS/artifacts/$name/content")" \
                "the report's bytes, through the artifact"
}

# the SDK's unit tests, with the check that the types generated from crds/ are current, run here too:
# `make test` is what CI runs
test_sdk_unit_and_generated_types() {
        sdk_build
        (cd "$SDK" && node --test test/unit/) >&2 || fail "the SDK's unit tests failed (above)"
}

test_sdk_pack() {
        # a file a removed source left in dist/ must not be packed: the build starts from an empty dist/
        mkdir -p "$SDK/dist" && echo 'export {};' >"$SDK/dist/removed-source.js"
        sdk_build
        [ ! -e "$SDK/dist/removed-source.js" ] || fail "the build left a stale file in dist/"
        local files
        files=$(cd "$SDK" && npm pack --dry-run --json --ignore-scripts 2>/dev/null | jq -r '.[0].files[].path' | sort) ||
                fail "npm pack --dry-run"
        assert_contains "$files" "dist/index.js" "the entry point is packed"
        assert_contains "$files" "dist/index.d.ts" "its declarations are packed"
        assert_contains "$files" "dist/generated/crds.d.ts" "the generated types are packed"
        assert_contains "$files" "README.md" "the README is packed"
        assert_contains "$files" "package.json" "package.json is packed"
        local bad
        bad=$(grep -vE '^(dist/.*\.(js|d\.ts)|README\.md|package\.json)$' <<<"$files" || true)
        assert_eq "" "$bad" "nothing else is packed (no sources, tests, maps or scripts)"
        # the tarball installed as a user installs it (no build step), loaded and type-checked by a consumer
        local app
        app=$(mktemp -d)
        printf 'dir %s\n' "$app" >>"$_cleanup_file"
        (cd "$SDK" && npm pack --pack-destination "$app" --ignore-scripts --silent) >/dev/null || fail "npm pack"
        printf '{"name": "app", "private": true, "type": "module"}\n' >"$app/package.json"
        (cd "$app" && npm install --prefer-offline --no-audit --no-fund --loglevel=error ./mbox-sdk-*.tgz) >&2 ||
                fail "the tarball does not install"
        cat >"$app/app.ts" <<'TS'
import { MboxClient, InvalidError, type Sandbox, type Artifact } from '@mbox/sdk';
const sb: Sandbox = { metadata: { name: 'x' }, spec: { state: 'Stopped', templateRef: { name: 'box' } } };
const art: Artifact['spec'] = { uri: 'workspace:///workspace/report.txt' };
export const use = [MboxClient, InvalidError, sb, art];
TS
        assert_eq "function" "$(cd "$app" && node -e 'import("@mbox/sdk").then((m) => console.log(typeof m.MboxClient))')" \
                "the installed package loads"
        (cd "$app" && "$SDK/node_modules/.bin/tsc" --noEmit --strict --module nodenext --moduleResolution nodenext app.ts) >&2 ||
                fail "its declarations do not type-check in a consumer (strict, libraries checked)"
}
