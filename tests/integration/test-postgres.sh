# The local PostgreSQL answers on loopback with the mbox database.

test_postgres_answers() {
        local out
        out=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d mbox -Atc 'select 40 + 2') || fail "psql failed"
        assert_eq 42 "$out" "query result"
}
