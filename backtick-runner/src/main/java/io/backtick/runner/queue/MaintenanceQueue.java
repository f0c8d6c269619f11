package io.backtick.runner.queue;

import static io.backtick.jooq.Tables.JOBS;
import static io.backtick.jooq.Tables.MAINTENANCE;
import static io.backtick.jooq.Tables.RUNNERS;
import static org.jooq.impl.DSL.inline;

import io.backtick.api.JobState;
import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.Record4;
import org.jooq.impl.DSL;

/** The statements of the housekeeping tasks: claiming a task's turn, rescuing, pruning, cancelling. */
public final class MaintenanceQueue {

    private final DSLContext dsl;

    MaintenanceQueue(DSLContext dsl) {
        this.dsl = dsl;
    }

    /**
     * Takes {@code task}'s turn if it is due, moving its next run {@code every} into the future.
     * The update locks the task's row; a runner racing for the same turn waits, re-reads the row,
     * finds it no longer due and gets false. So a task runs once per interval across all runners.
     */
    public boolean takeTurn(String task, Duration every, String runnerId) {
        dsl.insertInto(MAINTENANCE, MAINTENANCE.TASK).values(task).onConflictDoNothing().execute();
        return dsl.update(MAINTENANCE)
                .set(MAINTENANCE.NEXT_RUN_AT, DSL.field("now() + {0} * interval '1 millisecond'",
                        MAINTENANCE.NEXT_RUN_AT.getType(), inline(every.toMillis())))
                .set(MAINTENANCE.LAST_RUN_AT, DSL.currentOffsetDateTime())
                .set(MAINTENANCE.LAST_RUNNER, runnerId)
                .where(MAINTENANCE.TASK.eq(task))
                .and(MAINTENANCE.NEXT_RUN_AT.le(DSL.currentOffsetDateTime()))
                .execute() == 1;
    }

    public void recordResult(String task, String result) {
        dsl.update(MAINTENANCE).set(MAINTENANCE.LAST_RESULT, result).where(MAINTENANCE.TASK.eq(task)).execute();
    }

    /**
     * Pushes {@code task}'s next turn to at least {@code delay} from now: a task that found itself
     * costly runs less often, whichever runner takes its next turn.
     */
    public void postpone(String task, Duration delay) {
        dsl.execute("update maintenance set next_run_at = greatest(next_run_at, now() + ? * interval '1 millisecond') "
                + "where task = ?", delay.toMillis(), task);
    }

    /**
     * Puts back the running jobs of runners whose row in {@code runners} shows no heartbeat within
     * {@code expiry} (they died, or lost their database), as {@link #rescueLost} does. Reads the
     * runners table and then, only for such runners, their entries in {@code jobs_running_idx}:
     * nothing of the jobs table while every runner heartbeats, where {@link #rescueLost} reads
     * every entry of that index, and a transaction left open anywhere in the database keeps an
     * entry there for every job run since it began (254 ms a rescue after half an hour at 500
     * jobs/s).
     */
    public MadeAvailable rescueFromLostRunners(Duration expiry, int limit) {
        return putBack(JOBS_OF_LOST_RUNNERS, "'RunnerLost'",
                "'runner ' || j.runner_id || ' stopped heartbeating while it ran this job'",
                expiry.toMillis(), expiry.toMillis(), limit);
    }

    /** Up to {@code ?3} jobs running for {@code ?2} ms under runners silent for {@code ?1} ms. */
    static final String JOBS_OF_LOST_RUNNERS = """
            select j.id from jobs j
            where j.state = 'running' and j.runner_id is not null -- reads jobs_running_idx
              and j.runner_id = any(array(select r.id from runners r
                                          where r.heartbeat_at <= now() - ? * interval '1 millisecond'))
              and j.attempted_at < now() - ? * interval '1 millisecond'
            limit ?
            for update of j skip locked
            """;

    /**
     * Puts back running jobs whose runner has not heartbeat within {@code expiry} (it died, or lost
     * its database), whether or not it left a row in {@code runners} (a runner forgotten after a
     * day of silence, or one that stopped while it could not write its jobs' outcomes): as a failed
     * attempt with a "lost" error, available again at once, or discarded when it was the last
     * attempt. A job on a runner that heartbeats is never touched, however long it runs. Locks at
     * most {@code limit} jobs, skipping any locked elsewhere. Reads every entry of
     * {@code jobs_running_idx}.
     */
    public MadeAvailable rescueLost(Duration expiry, int limit) {
        return putBack("""
                select j.id from jobs j
                where j.state = 'running' and j.runner_id is not null -- reads jobs_running_idx
                  and j.attempted_at < now() - ? * interval '1 millisecond'
                  and not exists (select 1 from runners r
                                  where r.id = j.runner_id and r.heartbeat_at > now() - ? * interval '1 millisecond')
                limit ?
                for update of j skip locked
                """, "'RunnerLost'", "'runner ' || coalesce(j.runner_id, '?') || ' stopped heartbeating while it ran this job'",
                expiry.toMillis(), expiry.toMillis(), limit);
    }

    /**
     * Puts back the running jobs held by {@code runnerId}, the same way as {@link #rescueLost}. A
     * runner calls this as it starts, before it claims anything: whatever still runs under its id
     * was held by an earlier process with that id that died (kill -9, a crash, a lost machine), and
     * whose heartbeat the new process has just made look fresh again, so the rescuer would never
     * take those jobs back. Waits for rows locked elsewhere rather than skipping them.
     */
    public MadeAvailable handBackFromEarlierStart(String runnerId) {
        return putBack("""
                select j.id from jobs j
                where j.state = 'running' and j.runner_id = ?
                for update of j
                """, "'RunnerRestarted'",
                "'runner ' || j.runner_id || ' was restarted while it ran this job: its earlier process was lost'",
                runnerId);
    }

    /**
     * The failed attempt of every job {@code lostJobs} selects (and locks): available again at once
     * with a "lost" error of class {@code errorClass} and message {@code message} (SQL expressions
     * over {@code j}), or discarded when it was the last attempt. Every listening runner hears
     * where the available ones start ({@link MadeAvailable}).
     */
    private MadeAvailable putBack(String lostJobs, String errorClass, String message, Object... bindings) {
        return MadeAvailable.of(dsl.fetchOne("with lost as (" + lostJobs + """
                ), put as (
                    update jobs j set
                        state = (case when j.attempt >= j.max_attempts then 'discarded' else 'available' end)::job_state,
                        finalized_at = case when j.attempt >= j.max_attempts then now() end,
                        run_at = now(),
                        errors = j.errors || jsonb_build_array(jsonb_build_object(
                            'attempt', j.attempt, 'at', now(), 'kind', 'lost', 'class', """ + errorClass + """
                , 'message', """ + message + """
                , 'stacktrace', null))
                    where j.id = any(array(select id from lost)) and j.state = 'running'
                    returning j.state, j.priority, j.run_at
                )
                """ + MadeAvailable.announcing("put"), bindings));
    }

    /**
     * The jobs table's live and dead rows and the rows changed since its last analyze, as
     * PostgreSQL's statistics count them, and whether autovacuum tends it.
     */
    public record TableHealth(long live, long dead, long changedSinceAnalyze, boolean autovacuum) {
    }

    public TableHealth jobsTableHealth() {
        Record4<Long, Long, Long, Boolean> r = dsl.fetchSingle(DSL.resultQuery("""
                select coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0), coalesce(s.n_mod_since_analyze, 0),
                       current_setting('autovacuum')::boolean
                           and coalesce((select o.option_value::boolean from pg_options_to_table(c.reloptions) o
                                         where o.option_name = 'autovacuum_enabled'), true)
                from pg_class c left join pg_stat_user_tables s on s.relid = c.oid
                where c.oid = 'jobs'::regclass
                """).coerce(DSL.field("live", Long.class), DSL.field("dead", Long.class), DSL.field("changed", Long.class),
                        DSL.field("autovacuum", Boolean.class)));
        return new TableHealth(r.value1(), r.value2(), r.value3(), r.value4());
    }

    /**
     * Something in this database that keeps PostgreSQL from removing row versions newer than
     * {@code xid}: a session's transaction or snapshot, a prepared transaction, or a replication
     * slot. {@code key} names it (kind and pid, gid or slot name); {@code transaction} tells one
     * holding from the next of the same holder: a session's own transaction id while it has one,
     * else its snapshot's (a session's snapshot can need a transaction older than its own, which
     * {@code xid} reports, and that one may stay while the session begins and ends many).
     * {@code description} says what it is in words, from what this role may see of it.
     */
    public record HorizonHolder(String key, long xid, long transaction, String description) {
    }

    /**
     * What holds back the oldest row version the server must keep for this database, other than
     * this session. Every role may read the columns used here (pid, user, application, the
     * transaction ids), so it works without {@code pg_read_all_stats}; the session's state is
     * added when the role may see it. Sessions running VACUUM or ANALYZE are left out where their
     * query is visible: a vacuum's snapshot holds back nothing. Reads only statistics views.
     */
    public List<HorizonHolder> horizonHolders() {
        return dsl.fetch(HORIZON_HOLDERS).map(r -> new HorizonHolder(r.get(0, String.class), r.get(1, Long.class),
                r.get(2, Long.class), r.get(3, String.class)));
    }

    /**
     * The oldest transaction id among the {@link #horizonHolders}: what a vacuum now could not
     * clean up after. Null when nothing holds anything back.
     */
    public Long oldestHorizon() {
        return dsl.fetchOptional("select xid from (" + HORIZON_HOLDERS + ") h order by age(xid::text::xid) desc limit 1")
                .map(r -> r.get(0, Long.class)).orElse(null);
    }

    /** See {@link #horizonHolders}: key, the xid it holds back, its own transaction id, description. */
    private static final String HORIZON_HOLDERS = """
            select 'session ' || a.pid as key,
                   (case when a.backend_xid is null then a.backend_xmin
                         when a.backend_xmin is null then a.backend_xid
                         when age(a.backend_xid) >= age(a.backend_xmin) then a.backend_xid
                         else a.backend_xmin end)::text::bigint as xid,
                   coalesce(a.backend_xid, a.backend_xmin)::text::bigint as transaction,
                   format('session %s (user %s, application %s%s)', a.pid, coalesce(a.usename::text, '?'),
                          coalesce(nullif(a.application_name, ''), '?'), coalesce(', ' || a.state, '')) as description
            from pg_stat_activity a
            where a.datid = (select oid from pg_database where datname = current_database())
              and a.pid <> pg_backend_pid()
              and (a.backend_xid is not null or a.backend_xmin is not null)
              and coalesce(a.query !~* '^\\s*(vacuum|analyze)', true)
            union all
            select 'prepared transaction ' || p.gid, p.transaction::text::bigint, p.transaction::text::bigint,
                   format('prepared transaction %L (user %s, prepared at %s)', p.gid, p.owner, p.prepared)
            from pg_prepared_xacts p
            where p.database = current_database()
            union all
            select 'replication slot ' || r.slot_name, r.xmin::text::bigint, r.xmin::text::bigint,
                   format('replication slot %L', r.slot_name)
            from pg_replication_slots r
            where r.xmin is not null
            """;

    /** Vacuums (and analyzes) the jobs table: removes the dead rows every claim and completion leaves. */
    public void vacuumJobs() {
        dsl.execute("vacuum (analyze) jobs");
    }

    /** Refreshes the planner's statistics of the jobs table (after a bulk insert the claim needs them). */
    public void analyzeJobs() {
        dsl.execute("analyze jobs");
    }

    /** The ids of the jobs running under {@code runnerId} that were claimed at least {@code age} ago. */
    public List<Long> runningUnder(String runnerId, Duration age) {
        return dsl.fetch("""
                select id from jobs
                where state = 'running' and runner_id = ? and attempted_at < now() - ? * interval '1 millisecond'
                """, runnerId, age.toMillis()).getValues(0, Long.class);
    }

    /**
     * Makes the named jobs, running under {@code runnerId} since at least {@code age} ago,
     * available again with their attempt given back: they never reached the runner.
     */
    public MadeAvailable releaseUnknown(String runnerId, Collection<Long> ids, Duration age) {
        return MadeAvailable.of(dsl.fetchOne("""
                with released as (
                    update jobs set state = 'available', attempt = attempt - 1, run_at = now()
                    where id = any(?::bigint[]) and state = 'running' and runner_id = ?
                      and attempted_at < now() - ? * interval '1 millisecond'
                    returning state, priority, run_at
                )
                """ + MadeAvailable.announcing("released"), ids.toArray(new Long[0]), runnerId, age.toMillis()));
    }

    /** Deletes up to {@code limit} jobs that reached {@code states} more than {@code age} ago. */
    public int prune(List<String> states, Duration age, int limit) {
        String inList = String.join(", ", states.stream().map(s -> "'" + s + "'").toList());
        // A bounded delete by id: short locks and a bounded amount of WAL per statement.
        return dsl.execute("delete from jobs where id in (select id from jobs where finalized_at < now() - ? * interval '1 millisecond'"
                + " and state in (" + inList + ") limit ?)", age.toMillis(), limit);
    }

    /**
     * How many jobs are due and waiting to be claimed across the whole queue, and how long the one
     * that fell due first has waited: the depth and the lag an operator alerts on. Due jobs are
     * exactly the available ones (scheduled jobs and retries become available when they fall due).
     * Where few of the table's rows wait, PostgreSQL reads just the claim index's entries
     * ({@code jobs_claim_idx}: 1.2 ms for 10,000 waiting in a table of 1,000,000); where most do,
     * it reads the table (68–95 ms for 1,000,000 waiting). That is why it is one runner's turn at a
     * time, taken only by runners whose metrics are read and spaced by its cost, the others reading
     * what it kept ({@code Maintenance.readDepthIfDue}).
     */
    public Depth depth() {
        Record r = dsl.fetchSingle(DEPTH);
        return new Depth(r.get(0, Long.class), r.get(1, Double.class));
    }

    /** Jobs due and waiting, and the seconds the longest-waiting of them has waited since it fell due (0 if none). */
    public record Depth(long available, double lagSeconds) {
    }

    /**
     * Keeps {@code depth} as {@code task}'s last result, for the runners that did not take the
     * reading's turn ({@link #lastDepth}).
     */
    public void recordDepth(String task, Depth depth) {
        recordResult(task, depth.available() + " " + depth.lagSeconds());
    }

    /** The depth {@link #recordDepth} kept for {@code task}, if any: one row read by its key. */
    public java.util.Optional<Depth> lastDepth(String task) {
        String kept = dsl.fetchOptionalValue(MAINTENANCE.LAST_RESULT, MAINTENANCE.TASK.eq(task)).orElse(null);
        if (kept == null) {
            return java.util.Optional.empty();
        }
        String[] parts = kept.split(" ");
        try {
            return java.util.Optional.of(new Depth(Long.parseLong(parts[0]), Double.parseDouble(parts[1])));
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            return java.util.Optional.empty(); // not a depth this build wrote: the next turn writes one
        }
    }

    static final String DEPTH = """
            select count(*), coalesce(extract(epoch from greatest(interval '0', now() - min(run_at)))::float8, 0)
            from jobs where state = 'available'
            """;

    /** Available jobs, by worker, whose worker no live runner serves. */
    public Map<String, Long> waitingForAbsentWorkers(Duration expiry) {
        Map<String, Long> counts = new LinkedHashMap<>();
        dsl.select(JOBS.WORKER, DSL.count())
                .from(JOBS)
                .where(JOBS.STATE.in(inline(io.backtick.jooq.enums.JobState.available)))
                .andNotExists(DSL.selectOne().from(RUNNERS)
                        .where(DSL.condition("jsonb_exists({0}, {1})", RUNNERS.WORKERS, JOBS.WORKER))
                        .and(RUNNERS.HEARTBEAT_AT.gt(ScheduleQueue.ago(expiry))))
                .groupBy(JOBS.WORKER)
                .orderBy(JOBS.WORKER)
                .forEach(r -> counts.put(r.value1(), r.value2().longValue()));
        return counts;
    }

    /**
     * The ids of running jobs held by {@code runnerId} that someone asked to cancel. Each runner
     * with jobs running asks once a second, so this reads {@code jobs_cancel_requested_idx}, which
     * holds only such jobs, not the running-jobs index, which a transaction left open fills with
     * every job run since it began (migration {@code V9}).
     */
    public List<Long> cancelRequested(String runnerId) {
        return dsl.fetch(CANCEL_REQUESTED, runnerId).getValues(0, Long.class);
    }

    /** The running jobs of runner {@code ?} with a cancel request: the predicate of {@code jobs_cancel_requested_idx}. */
    static final String CANCEL_REQUESTED = """
            select id from jobs
            where runner_id = ? and state = 'running' and cancel_requested_at is not null
            """;

    /** What {@link #cancel} did. */
    public enum CancelResult { CANCELLED, REQUESTED, ALREADY_FINISHED, NOT_FOUND }

    /**
     * Cancels a job that is waiting; asks the runner of a running one to stop it (it is recorded as
     * cancelled when it returns); leaves a finished one alone.
     */
    public CancelResult cancel(long id) {
        int waiting = dsl.update(JOBS)
                .set(JOBS.STATE, inline(io.backtick.jooq.enums.JobState.cancelled))
                .set(JOBS.FINALIZED_AT, DSL.currentOffsetDateTime())
                .where(JOBS.ID.eq(id))
                .and(JOBS.STATE.in(inline(io.backtick.jooq.enums.JobState.scheduled),
                        inline(io.backtick.jooq.enums.JobState.available),
                        inline(io.backtick.jooq.enums.JobState.retryable)))
                .execute();
        if (waiting == 1) {
            return CancelResult.CANCELLED;
        }
        int running = dsl.update(JOBS)
                .set(JOBS.CANCEL_REQUESTED_AT, DSL.currentOffsetDateTime())
                .where(JOBS.ID.eq(id))
                .and(JOBS.STATE.eq(inline(io.backtick.jooq.enums.JobState.running)))
                .execute();
        if (running == 1) {
            return CancelResult.REQUESTED;
        }
        return dsl.fetchExists(JOBS, JOBS.ID.eq(id)) ? CancelResult.ALREADY_FINISHED : CancelResult.NOT_FOUND;
    }

    /**
     * What a retry sets: the job is available now, with one more attempt allowed if it had used
     * them all, and neither finished nor asked to cancel any more. Its errors stay.
     */
    private static final String RUN_AGAIN = "state = 'available', run_at = now(), finalized_at = null, "
            + "cancel_requested_at = null, max_attempts = greatest(max_attempts, attempt + 1)";

    /**
     * The job that holds the key of the {@code jobs} row in hand, other than that row: one that
     * has not ended and has the same worker and key ({@code jobs_unique_key}); null if none.
     */
    private static final String KEY_HOLDER = "(select holder.id from jobs holder where holder.worker = jobs.worker "
            + "and holder.unique_key = jobs.unique_key and holder.id <> jobs.id "
            + "and holder.state in ('scheduled', 'available', 'running', 'retryable') limit 1)";

    /**
     * A retry makes a keyed job wait again only while no other job that has not ended holds its
     * key: two such jobs would break {@code jobs_unique_key} (V13__unique_keys.sql), and the one
     * waiting already does what the retry asks.
     */
    private static final String KEY_FREE = "(jobs.unique_key is null or " + KEY_HOLDER + " is null)";

    /** The states {@link #retryAll} takes jobs from: every state but running (not ended yet) and available (waiting already). */
    public static final Set<JobState> RETRIABLE = Collections.unmodifiableSet(EnumSet.of(
            JobState.SCHEDULED, JobState.RETRYABLE, JobState.COMPLETED, JobState.DISCARDED, JobState.CANCELLED));

    /**
     * Does what {@link #retry} does to one job to every job in {@code state} (one of
     * {@link #RETRIABLE}), of {@code worker} only unless that is null, as an operator asks after
     * an outage made a worker's jobs fail for good ({@link #throughTable}). Each batch is
     * announced to every runner, so the first jobs run while the rest are still being made
     * available. Of keyed jobs, one per key waits again: the lowest id of a batch, and none where
     * a job that has not ended holds the key already ({@link #KEY_FREE}). Returns how many jobs it
     * made available.
     */
    public int retryAll(JobState state, String worker, int batch) {
        if (!RETRIABLE.contains(state)) {
            throw new IllegalArgumentException(state + " jobs cannot be retried");
        }
        // The state is written into the text (one of five constants), not bound: with a bound
        // state PostgreSQL's generic plan could not tell which rows qualify.
        return throughTable("""
                with seen as (
                    select id from jobs
                    where id > ? and state = '%1$s' and (?::text is null or worker = ?::text)
                    order by id
                    limit ?
                ), retried as (
                    update jobs set %2$s
                    where id in (select id from seen) and state = '%1$s' and %3$s
                      and (jobs.unique_key is null or jobs.id = (select min(twin.id) from seen join jobs twin using (id)
                                                                 where twin.worker = jobs.worker
                                                                   and twin.unique_key = jobs.unique_key))
                    returning state, priority, run_at
                )
                """.formatted(state.sqlName(), RUN_AGAIN, KEY_FREE)
                + MadeAvailable.announcing("retried", ", (select max(id) from seen) as last_seen"), worker, worker, batch);
    }

    /** What {@link #cancelAll} did: waiting jobs cancelled, and running ones whose runners were asked to stop them. */
    public record CancelAll(int cancelled, int requested) {
    }

    /**
     * Does what {@link #cancel} does to one job to every job of {@code worker} that has not
     * ended, as an operator asks when a worker's jobs must not run (a bad deploy enqueued them):
     * the waiting ones (available, scheduled, retryable) are cancelled at once, a batch at a
     * time ({@link #throughTable}); then the runners of the running ones are asked to stop
     * them, and record them cancelled when they return. A job a runner claims while this goes
     * on is not cancelled but asked to stop.
     */
    public CancelAll cancelAll(String worker, int batch) {
        int cancelled = throughTable("""
                with seen as (
                    select id from jobs
                    where id > ? and worker = ? and state in ('scheduled', 'available', 'retryable')
                    order by id
                    limit ?
                ), cancelled as (
                    update jobs set state = 'cancelled', finalized_at = now()
                    where id in (select id from seen) and state in ('scheduled', 'available', 'retryable')
                    returning id
                )
                select (select count(*) from cancelled)::int as jobs, (select max(id) from seen) as last_seen
                """, worker, batch);
        int requested = dsl.execute("""
                update jobs set cancel_requested_at = now()
                where worker = ? and state = 'running' and cancel_requested_at is null
                """, worker);
        return new CancelAll(cancelled, requested);
    }

    /**
     * Runs {@code statement} over the jobs table once, in id order, a batch after another, until
     * a batch sees no row; returns the jobs it changed. Its first parameter is the id to go on
     * after ({@code rest} are the others), and it returns one row: {@code jobs} changed, and
     * {@code last_seen}, the highest id it looked at (null when it saw none). It reads the
     * batch's ids without locking them and has its update check each row's state again, so a
     * row locked meanwhile (a claim, a prune) is waited for and then changed only if it still
     * qualifies; going on after the last id seen rather than from the start means a state that
     * few rows of a long table are in is read through once, not once a batch. Each batch commits
     * on its own.
     */
    private int throughTable(String statement, Object... rest) {
        Object[] bindings = new Object[rest.length + 1];
        System.arraycopy(rest, 0, bindings, 1, rest.length);
        long after = 0;
        int total = 0;
        while (true) {
            bindings[0] = after;
            Record row = dsl.fetchOne(statement, bindings);
            Long last = row.get("last_seen", Long.class);
            if (last == null) {
                return total;
            }
            total += row.get("jobs", Integer.class);
            after = last;
        }
    }

    /** What {@link #retry} did. */
    public enum RetryResult { MADE_AVAILABLE, ALREADY_AVAILABLE, RUNNING, KEY_HELD, NOT_FOUND }

    /**
     * What {@link #retry} did to job {@code id}, and when it made it available, the attempt it
     * runs next and how many it may make ({@code 0} otherwise); when another job that has not
     * ended holds its key, that job's id ({@code 0} otherwise).
     */
    public record Retry(RetryResult result, int nextAttempt, int maxAttempts, long keyHolder) {
    }

    /**
     * Makes a job that is not running available at once, as an operator asks after fixing what
     * made it fail: a finished one (completed, discarded, cancelled) runs again, with one more
     * attempt allowed if it had used them all; a scheduled or retryable one runs now instead of
     * at its time. Its errors stay, the history of its attempts; a cancel request left from an
     * earlier run is dropped. Every listening runner hears where it starts in claim order
     * ({@link MadeAvailable}), so it starts at once. A running job is left alone: its attempt
     * is still to end.
     */
    public Retry retry(long id) {
        Record row = dsl.fetchOne("""
                with retried as (
                    update jobs set %s
                    where id = ? and state in ('scheduled', 'retryable', 'completed', 'discarded', 'cancelled') and %s
                    returning state, priority, run_at, attempt, max_attempts
                )
                """.formatted(RUN_AGAIN, KEY_FREE)
                + MadeAvailable.announcing("retried", ", max(attempt) + 1 as next_attempt, max(max_attempts) as max_attempts"), id);
        if (MadeAvailable.of(row).jobs() == 1) {
            return new Retry(RetryResult.MADE_AVAILABLE, row.get("next_attempt", Integer.class),
                    row.get("max_attempts", Integer.class), 0);
        }
        Record job = dsl.fetchOne("select jobs.state = 'running', " + KEY_HOLDER + " from jobs where id = ?", id);
        if (job == null) {
            return new Retry(RetryResult.NOT_FOUND, 0, 0, 0);
        }
        Long holder = job.get(1, Long.class);
        RetryResult result = job.get(0, Boolean.class) ? RetryResult.RUNNING
                : holder != null ? RetryResult.KEY_HELD : RetryResult.ALREADY_AVAILABLE;
        return new Retry(result, 0, 0, holder == null ? 0 : holder);
    }
}
