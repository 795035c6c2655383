# tests/integration/run.sh itself: it cannot count a failure as a pass. Each test runs the runner on files
# made for it, on the test stack already up (so the inner run neither starts nor stops it).

# runner FILE...: the runner's output (its exit status in RUNNER_RC)
runner() {
        RUNNER_OUT=$(bash "$root/tests/integration/run.sh" "$@" 2>&1)
        RUNNER_RC=$?
        printf '%s\n' "$RUNNER_OUT" | grep -E '^(not )?ok - ' | sed 's/^/      | /' >&2
}

scratch() {
        local d
        d=$(mktemp -d)
        printf 'dir %s\n' "$d" >>"$_cleanup_file"
        printf '%s' "$d"
}

test_a_binary_that_exits_nonzero_fails_whatever_its_summary_says() {
        local d
        d=$(scratch)
        printf '#!/bin/sh\necho "Running suite(s): broken"\necho "100%%: Checks: 2, Failures: 0, Errors: 0"\nexit 1\n' >"$d/broken-bin"
        printf '#!/bin/sh\necho "no summary here"\nexit 0\n' >"$d/mute-bin"
        chmod +x "$d/broken-bin" "$d/mute-bin"
        runner "$d/broken-bin" "$d/mute-bin" || true
        [ "$RUNNER_RC" -ne 0 ] || fail "the runner exited 0 for failed binaries"
        assert_contains "$RUNNER_OUT" "not ok - broken-bin (exit 1)" "a binary exiting 1 with 'Failures: 0'"
        assert_contains "$RUNNER_OUT" "not ok - mute-bin (exit 0, no summary)" "a binary without a Check summary"
        assert_contains "$RUNNER_OUT" "integration: 1 passed, 2 failed" "the counts"
}

test_a_file_that_does_not_parse_or_has_no_test_fails() {
        local d
        d=$(scratch)
        printf 'test_unclosed() {\n        true\n' >"$d/test-unparsable.sh"
        printf '# nothing here\nhelper() { true; }\n' >"$d/test-empty.sh"
        # the failing command is not the file's last: the file's status alone would hide it
        printf 'test_never_run() { true; }\nno_such_command_here\nhelper() { true; }\n' >"$d/test-unsourceable.sh"
        runner "$d/test-unparsable.sh" "$d/test-empty.sh" "$d/test-unsourceable.sh" || true
        [ "$RUNNER_RC" -ne 0 ] || fail "the runner exited 0 for broken files"
        assert_contains "$RUNNER_OUT" "not ok - test-unparsable.sh (does not parse:" "a syntax error"
        assert_contains "$RUNNER_OUT" "# test-empty.sh: 0 tests" "the count of tests found"
        assert_contains "$RUNNER_OUT" "not ok - test-empty.sh (defines no test_ function)" "a file without tests"
        assert_contains "$RUNNER_OUT" "not ok - test-unsourceable.sh (cannot be sourced:" "a file that fails to source"
        assert_contains "$RUNNER_OUT" "no_such_command_here" "the sourcing error is shown"
        assert_contains "$RUNNER_OUT" "integration: 0 passed, 3 failed" "the counts"
}

test_a_test_past_its_limit_is_killed_with_its_helpers_and_cleaned_up() {
        local d marker secs=987654
        d=$(scratch)
        marker=$d/left-by-the-test
        cat >"$d/test-slow.sh" <<SH
TIMEOUT_test_hangs=3
test_hangs() {
        touch "$marker"
        printf 'file %s\n' "$marker" >>"\$_cleanup_file"
        bg_start sleep $secs
        sleep $((secs + 1))
}
test_quick() { true; }
SH
        runner "$d/test-slow.sh" || true
        [ "$RUNNER_RC" -ne 0 ] || fail "the runner exited 0 for a hung test"
        assert_contains "$RUNNER_OUT" "# test-slow.sh: 2 tests" "the count of tests found"
        assert_contains "$RUNNER_OUT" "not ok - test-slow:test_hangs (timed out after 3s)" "the hung test, by name"
        assert_contains "$RUNNER_OUT" "ok - test-slow:test_quick" "the next test still runs"
        assert_contains "$RUNNER_OUT" "integration: 1 passed, 1 failed" "the counts"
        [ ! -e "$marker" ] || fail "the hung test's cleanup did not run: $marker is still there"
        ! pgrep -f "sleep $secs" >/dev/null || fail "the hung test's processes outlived it: $(pgrep -af "sleep $secs")"
        ! pgrep -f "sleep $((secs + 1))" >/dev/null || fail "the hung test's own sleep outlived it"
}
