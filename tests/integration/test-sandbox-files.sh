# Files in a running sandbox through runtime.mbox.dev as a user reaches them: kubectl get --raw lists a
# directory and downloads a file, kubectl replace --raw uploads one (PUT), kubectl delete --raw removes it,
# each authorized on sandboxes/files for the caller (start_apiserver: lib.sh).
#
# KWOK runs a sandbox's commands on this machine in a directory of the pod's own: the files live there, and
# the test reads them back as they are on disk to compare.

TIMEOUT_test_files_of_a_running_sandbox=300

# files_sandbox: a new project with a Running sandbox "box"; sets NS, BASE (the files URL of box) and WD
# (the absolute directory its commands run in)
files_sandbox() {
        local pod
        NS=mbox-$(new_project)
        template "$NS" box
        sandbox "$NS" box
        wait_for "sandbox box Running" 60 phase_is "$NS" box Running
        pod=$(kubectl -n "$NS" get sandboxes.mbox.dev box -o jsonpath='{.status.podName}')
        WD=$(kubectl -n "$NS" exec "$pod" -c sandbox -- pwd)
        BASE="/apis/runtime.mbox.dev/v1alpha1/namespaces/$NS/sandboxes/box/files"
}

# item PATH NAME FILTER: the jq FILTER of the entry NAME in the listing of PATH
item() {
        kubectl get --raw "$BASE?path=$1" | jq -r --arg n "$2" ".items[] | select(.name == \$n) | $3"
}

test_files_of_a_running_sandbox() {
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        start_apiserver
        files_sandbox
        local tmp out
        tmp=$(mktemp -d)
        printf 'dir %s\n' "$tmp" >>"$_cleanup_file"

        # upload a small binary file (NULs, bytes past ASCII) and one of 300 KiB, with a mode
        printf 'a\0b\0\377\376\n\0' >"$tmp/bin"
        head -c 307200 /dev/urandom >"$tmp/big"
        out=$(kubectl replace --raw "$BASE?path=$WD/bin.dat" -f "$tmp/bin")
        assert_contains "$out" '"code":201' "a new file is created"
        kubectl replace --raw "$BASE?path=$WD/big.dat&mode=0600" -f "$tmp/big" >/dev/null
        cmp "$tmp/bin" "$WD/bin.dat" || fail "the uploaded binary file differs on disk"
        cmp "$tmp/big" "$WD/big.dat" || fail "the uploaded 300 KiB file differs on disk"
        : >"$tmp/empty"
        kubectl replace --raw "$BASE?path=$WD/empty" -f "$tmp/empty" >/dev/null
        [ -f "$WD/empty" ] && [ ! -s "$WD/empty" ] || fail "an empty upload is an empty file"

        # the directory lists them with type, size and mode; a symlink with its target; a subdirectory
        ln -s bin.dat "$WD/link"
        mkdir "$WD/sub"
        assert_eq FileList "$(kubectl get --raw "$BASE?path=$WD" | jq -r .kind)" "the kind of a listing"
        assert_eq "file 8 0644" "$(item "$WD" bin.dat '"\(.type) \(.size) \(.mode)"')" "bin.dat in the listing"
        assert_eq "file 307200 0600" "$(item "$WD" big.dat '"\(.type) \(.size) \(.mode)"')" "big.dat (mode=0600)"
        assert_eq "symlink bin.dat" "$(item "$WD" link '"\(.type) \(.target)"')" "a symlink and its target"
        assert_eq dir "$(item "$WD" sub .type)" "a subdirectory"
        assert_contains "$(item "$WD" bin.dat .modTime)" "$(date -u +%Y-)" "modTime in RFC 3339"

        # downloads are the bytes as they are, through a symlink too
        kubectl get --raw "$BASE?path=$WD/bin.dat" >"$tmp/bin.got"
        cmp "$tmp/bin" "$tmp/bin.got" || fail "the downloaded binary file differs"
        kubectl get --raw "$BASE?path=$WD/big.dat" >"$tmp/big.got"
        cmp "$tmp/big" "$tmp/big.got" || fail "the downloaded 300 KiB file differs"
        assert_eq "$(sha256sum <"$tmp/bin")" "$(kubectl get --raw "$BASE?path=$WD/link" | sha256sum)" "through a symlink"

        # an overwrite is a rename of a whole new file over the old one: a new inode, the old mode kept,
        # nothing left beside it
        local inode
        inode=$(stat -c %i "$WD/big.dat")
        printf 'replaced\n' >"$tmp/small"
        out=$(kubectl replace --raw "$BASE?path=$WD/big.dat" -f "$tmp/small")
        assert_contains "$out" '"code":200' "a replaced file"
        assert_eq replaced "$(kubectl get --raw "$BASE?path=$WD/big.dat")" "the new content"
        [ "$(stat -c %i "$WD/big.dat")" != "$inode" ] || fail "the file was rewritten in place, not renamed over"
        assert_eq "file 9 0600" "$(item "$WD" big.dat '"\(.type) \(.size) \(.mode)"')" "the replaced file keeps its mode"
        assert_eq "" "$(kubectl get --raw "$BASE?path=$WD" | jq -r '.items[].name | select(startswith(".mbox-upload"))')" \
                "no temporary file left"
        # through a symlink, the upload replaces its target
        kubectl replace --raw "$BASE?path=$WD/link" -f "$tmp/small" >/dev/null
        [ -L "$WD/link" ] || fail "the symlink was replaced instead of its target"
        assert_eq replaced "$(cat "$WD/bin.dat")" "the symlink's target written"

        # refusals, each with its reason
        refused "a missing file" "$WD/nosuch not found in sandbox box: No such file or directory" \
                kubectl get --raw "$BASE?path=$WD/nosuch"
        refused "a path with .." "path must not have . or .. segments" kubectl get --raw "$BASE?path=$WD/../x"
        refused "a relative path" "path must be absolute" kubectl get --raw "$BASE?path=etc/passwd"
        refused "no path" "path is required" kubectl get --raw "$BASE"
        refused "an upload into a directory that is not there" "No such file or directory" \
                kubectl replace --raw "$BASE?path=$WD/nodir/x" -f "$tmp/small"
        [ ! -e "$WD/nodir" ] || fail "an upload created a directory"
        refused "an upload over a directory" "is a directory" kubectl replace --raw "$BASE?path=$WD/sub" -f "$tmp/small"
        refused "a bad mode" "mode must be 3 or 4 octal digits" \
                kubectl replace --raw "$BASE?path=$WD/x&mode=999" -f "$tmp/small"
        head -c 1048577 /dev/zero >"$tmp/toobig"
        refused "an upload past 1 MiB" "larger than 1048576 bytes" \
                kubectl replace --raw "$BASE?path=$WD/toobig" -f "$tmp/toobig"
        [ ! -e "$WD/toobig" ] || fail "a refused upload left a file"

        # removal: a file, then 404; a directory only when empty, or with recursive=true
        kubectl delete --raw "$BASE?path=$WD/big.dat" >/dev/null
        kubectl delete --raw "$BASE?path=$WD/empty" >/dev/null
        [ ! -e "$WD/big.dat" ] || fail "big.dat is still there"
        refused "a removed file" "NotFound" kubectl get --raw "$BASE?path=$WD/big.dat"
        refused "removing a missing file" "not found in sandbox box" kubectl delete --raw "$BASE?path=$WD/big.dat"
        touch "$WD/sub/f"
        refused "removing a directory that is not empty" "not empty: add recursive=true" \
                kubectl delete --raw "$BASE?path=$WD/sub"
        kubectl delete --raw "$BASE?path=$WD/sub&recursive=true" >/dev/null
        [ ! -e "$WD/sub" ] || fail "sub is still there"
        kubectl delete --raw "$BASE?path=$WD/link" >/dev/null
        [ ! -e "$WD/link" ] && [ -e "$WD/bin.dat" ] || fail "removing a symlink must remove the link only"

        # a viewer lists and downloads; only developers upload and remove
        kubectl -n "$NS" create rolebinding view-carol --clusterrole=mbox-viewer --user=carol >/dev/null
        kubectl -n "$NS" create rolebinding dev-erin --clusterrole=mbox-developer --user=erin >/dev/null
        wait_for "carol can list" 20 kubectl get --raw "$BASE?path=$WD" --as=carol
        assert_eq replaced "$(kubectl get --raw "$BASE?path=$WD/bin.dat" --as=carol)" "a viewer downloads"
        refused "a viewer uploads" "forbidden" kubectl replace --raw "$BASE?path=$WD/c" -f "$tmp/small" --as=carol
        assert_contains "$REFUSAL" 'cannot update resource "sandboxes/files"' "the refused verb"
        refused "a viewer removes" "cannot delete resource \"sandboxes/files\"" kubectl delete --raw "$BASE?path=$WD/bin.dat" --as=carol
        refused "no role" "forbidden" kubectl get --raw "$BASE?path=$WD" --as=dave
        wait_for "erin can upload" 20 kubectl replace --raw "$BASE?path=$WD/e" -f "$tmp/small" --as=erin
        kubectl delete --raw "$BASE?path=$WD/e" --as=erin >/dev/null

        # a stopped sandbox has no files to reach: 409
        kubectl -n "$NS" patch sandboxes.mbox.dev box --type=merge -p '{"spec":{"state":"Stopped"}}' >/dev/null
        wait_for "sandbox box Stopped" 60 phase_is "$NS" box Stopped
        refused "a stopped sandbox" "must be running" kubectl get --raw "$BASE?path=$WD"
        assert_contains "$REFUSAL" "Conflict" "409 for a stopped sandbox"
}
