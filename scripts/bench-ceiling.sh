#!/bin/sh
# bench-ceiling.sh - the bare-SQL ceiling for `backtick bench`: the same state changes as the
# runner and the client, run by pgbench with no application in between.
#
#   scripts/bench-ceiling.sh [URL]
#
# URL: postgres://user@host:5432/db, jdbc:postgresql://host:5432/db?user=u, or none to use the
# PG* environment (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD) as psql does.
#
# In a scratch schema (backtick_ceiling, dropped at the end, also on Ctrl-C) it creates the queue
# table from the project's own migrations in db/ (so the table, its indexes, the autovacuum
# settings and the insert trigger are the real ones), then measures, each right after a CHECKPOINT:
#   (a) claim: CLAIM_CLIENTS pgbench clients (default 2) each repeat, CLAIM_ROUNDS times (default
#       100): claim 1,000 available jobs with FOR UPDATE SKIP LOCKED, marking them running (one
#       commit), then mark them completed (a second commit), as a runner's producer and completer do;
#   (b) insert: INSERT_CLIENTS clients (default 1, as `backtick bench` enqueues on one thread)
#       insert 1,000 jobs per statement for INSERT_SECONDS (default 10).
# and prints jobs/s for each (pgbench's transactions per second x 1,000).
#
# Environment: PGBENCH (default: pgbench on PATH, else /usr/lib/postgresql/*/bin/pgbench),
# PSQL, CLAIM_CLIENTS, CLAIM_ROUNDS, INSERT_CLIENTS, INSERT_SECONDS, SCHEMA (default backtick_ceiling).
set -eu

script_dir=$(cd "$(dirname "$0")" && pwd -P)
migrations=$script_dir/../db/src/main/resources/io/backtick/db/migration
schema=${SCHEMA:-backtick_ceiling}
claim_clients=${CLAIM_CLIENTS:-2}
claim_rounds=${CLAIM_ROUNDS:-100}
insert_clients=${INSERT_CLIENTS:-1}
insert_seconds=${INSERT_SECONDS:-10}
batch=1000

find_tool() {
    if command -v "$1" >/dev/null 2>&1; then
        command -v "$1"
        return
    fi
    for candidate in /usr/lib/postgresql/*/bin/"$1"; do
        if [ -x "$candidate" ]; then
            printf '%s\n' "$candidate"
            return
        fi
    done
    echo "bench-ceiling: cannot find $1 (install the PostgreSQL client tools, or set $2)" >&2
    exit 1
}
pgbench=${PGBENCH:-$(find_tool pgbench PGBENCH)}
psql=${PSQL:-$(find_tool psql PSQL)}

# libpq takes a postgres:// URI as the database name; a JDBC URL is one with a prefix.
url=${1:-}
case $url in
    jdbc:*) url=${url#jdbc:} ;;
esac
set -- ${url:+"$url"}

case $schema in
    *[!a-z0-9_]*|[0-9]*|'') echo "bench-ceiling: SCHEMA must be a plain lower-case identifier" >&2; exit 1 ;;
esac
# Every connection below, psql's and pgbench's, works in the scratch schema.
PGOPTIONS="${PGOPTIONS:-} -c search_path=$schema -c client_min_messages=warning"
export PGOPTIONS

sql() {
    "$psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

mark='backtick ceiling'
existing=$(sql -At -c "select coalesce(obj_description(oid, 'pg_namespace'), '-') from pg_namespace where nspname = '$schema'" "$@")
if [ -n "$existing" ] && [ "$existing" != "$mark" ]; then
    echo "bench-ceiling: schema $schema exists and this script did not create it; set SCHEMA to another name" >&2
    exit 1
fi

work=$(mktemp -d)
cleanup() {
    sql -c "drop schema if exists $schema cascade" "$@" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap 'cleanup "$@"' EXIT
trap 'exit 130' INT TERM

# A CHECKPOINT before each timed part, as `backtick bench` takes one before its timed run, so
# neither meets a checkpoint set off by the WAL of what came before it. Only superusers (and, from
# PostgreSQL 15, members of pg_checkpoint) may; without it the figures vary more.
checkpoint() {
    if ! sql -c "checkpoint" "$@" 2>/dev/null; then
        echo "bench-ceiling: no CHECKPOINT (the user may not run one), so a checkpoint may fall inside a timed part" >&2
    fi
}

sql -c "drop schema if exists $schema cascade" -c "create schema $schema" -c "comment on schema $schema is '$mark'" "$@"
for migration in $(ls "$migrations" | sort -V); do
    sql -f "$migrations/$migration" "$@"
done

# (a) The runner's claim (engine Producer, queue JobQueue.claim) and completion (Completer), bare.
rows=$((claim_clients * claim_rounds * batch))
sql "$@" <<SQL
insert into jobs (worker, args, queue, priority, max_attempts, run_at, state)
select 'bench-noop', '[]'::jsonb, 'default', 0, 16, now(), 'available' from generate_series(1, $rows);
analyze jobs;
SQL
cat > "$work/claim.sql" <<SQL
with claimable as (
    select ctid from jobs
    where state = 'available' and worker = any('{bench-noop}'::text[])
    order by priority desc, run_at, id
    limit $batch
    for update skip locked)
update jobs set state = 'running', attempt = attempt + 1, attempted_at = now(),
                runner_id = 'ceiling-' || :client_id
where ctid = any(array(select ctid from claimable));
update jobs set state = 'completed', finalized_at = now()
where state = 'running' and runner_id = 'ceiling-' || :client_id;
SQL
checkpoint "$@"
echo "claim: $claim_clients clients x $claim_rounds rounds of $batch jobs ($rows jobs)" >&2
"$pgbench" -n -r -c "$claim_clients" -j "$claim_clients" -t "$claim_rounds" -f "$work/claim.sql" "$@" > "$work/claim.out"
claim_tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/claim.out" | head -n 1)
left=$(sql -At -c "select count(*) from jobs where state <> 'completed'" "$@")
if [ "$left" != 0 ]; then
    echo "bench-ceiling: $left jobs were not completed by the claim run" >&2
    cat "$work/claim.out" >&2
    exit 1
fi

# (b) The client's bulk insert (BacktickClient.enqueueAll), bare: 1,000 rows per statement.
sql -c "truncate jobs" "$@"
cat > "$work/insert.sql" <<SQL
insert into jobs (worker, args, queue, priority, max_attempts, run_at, state)
select 'bench-noop', '[]'::jsonb, 'default', 0, 16, now(), 'available' from generate_series(1, $batch);
SQL
checkpoint "$@"
echo "insert: $insert_clients client(s) for ${insert_seconds}s, $batch jobs per statement" >&2
"$pgbench" -n -c "$insert_clients" -j "$insert_clients" -T "$insert_seconds" -f "$work/insert.sql" "$@" > "$work/insert.out"
insert_tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/insert.out" | head -n 1)

version=$(sql -At -c "show server_version" "$@")
awk -v c="$claim_tps" -v i="$insert_tps" -v b="$batch" -v cc="$claim_clients" -v ic="$insert_clients" -v v="$version" 'BEGIN {
    printf "PostgreSQL %s\n", v
    printf "claim + complete, %d clients: %10.0f jobs/s\n", cc, c * b
    printf "insert, %d client(s):          %10.0f jobs/s\n", ic, i * b
}'
