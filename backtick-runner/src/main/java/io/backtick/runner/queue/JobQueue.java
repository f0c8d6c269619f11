package io.backtick.runner.queue;

import static io.backtick.jooq.Tables.JOBS;
import static io.backtick.jooq.Tables.WORKERS;
import static org.jooq.impl.DSL.currentOffsetDateTime;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.backtick.api.JobState;
import io.backtick.jooq.tables.records.JobsRecord;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jooq.BatchBindStep;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.JSONB;
import org.jooq.Record;
import org.jooq.ResultQuery;
import org.jooq.Results;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;

/**
 * Every statement the runner runs against the jobs and workers tables. Nothing outside this
 * package speaks SQL. Each state change is guarded by the state it expects.
 *
 * <p>States in WHERE clauses are inlined as literals, never bound: the claim and due indexes are
 * partial ({@code where state = 'available'}), and PostgreSQL can use a partial index only when
 * the predicate is visible at plan time. A bound state would make pgjdbc's server-prepared,
 * generic plan fall back to a sequential scan and a sort, which grows with the table.
 */
public final class JobQueue {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Marks completed the running jobs of the ids in {@code ?1} whose attempt is {@code ?2}. */
    static final String COMPLETE = """
            update jobs set state = 'completed', finalized_at = now()
            where id = any(?::bigint[]) and attempt = ? and state = 'running'
            """;

    private final DSLContext dsl;
    /** Where claims run: the runner's claim connection, or the pool for everyone else. */
    private final DSLContext claimDsl;

    JobQueue(DSLContext dsl, DSLContext claimDsl) {
        this.dsl = dsl;
        this.claimDsl = claimDsl;
    }

    /**
     * Claims up to {@code ?2} available jobs of the workers in {@code ?1} for runner {@code ?3},
     * marking them running and counting the attempt. The CTE reads the {@code jobs_claim_idx}
     * partial index in order and stops after the limit; the update then goes straight to the row
     * versions the CTE found, by their physical address ({@code ctid = any(array(select …))}, a
     * TID scan). By primary key ({@code id = any(…)}) each row cost a walk down {@code jobs_pkey}
     * and past the entries of the job's older versions, about 5 buffer reads per job against 1
     * (EXPLAIN of a 4,000-job claim: 57,090 buffer hits against 38,297). (A join could be planned
     * as a hash join over a full table scan.) Priority and run_at come back only to put the batch
     * in order.
     *
     * <p>The update asks for {@code state >= 'available' and state <= 'available'}, which is
     * {@code state = 'available'} in a form the planner cannot match to the claim index's
     * predicate. Written plainly, it let the planner, on statistics taken just as the queue ran
     * dry (they promise an empty claim index), read the whole claim index for the update and test
     * every entry against the claim's addresses one by one: 145 ms for a claim of 4,000 with
     * 10,000 jobs waiting, where the TID scan takes a few ({@code QueryPlanTest}).
     *
     * <p>A version the CTE read cannot be vacuumed away under the statement (its snapshot still
     * sees it), so its address holds no other row. If another transaction updated the row after
     * the snapshot, the update waits for it and then follows the row's chain of versions to the
     * newest, as it would from an index, and writes it only if that one is still available.
     *
     * <p>The CTE locks nothing ({@code FOR UPDATE SKIP LOCKED} would write a row lock, and a WAL
     * record, for every row the update writes again a moment later): claims take turns
     * ({@link #CLAIM_TURN}), so no other claim holds the rows it reads. What keeps a job from being
     * claimed twice is the update's own check that the row is available: a row that some other
     * transaction changed after the claim's snapshot (a cancel, or a claim that did not take its
     * turn) is waited for, read again in its newest version, and passed by unless it is still
     * available.
     */
    static final String CLAIM = """
            with claimable as (
                select ctid from jobs
                where state = 'available' and worker = any(?)
                order by priority desc, run_at, id
                limit ?)
            update jobs set state = 'running', attempt = attempt + 1, attempted_at = now(), runner_id = ?
            where ctid = any(array(select ctid from claimable)) and state >= 'available' and state <= 'available'
            returning id, worker, queue, args, attempt, max_attempts, created_at, schedule_tick, priority, run_at
            """;

    /**
     * Claims take turns: {@link #CLAIM} is sent behind this statement, in the same message to the
     * server and so in the same implicit transaction, which holds a transaction-level advisory lock
     * keyed on the jobs table's oid until the claim commits. Without it, claims of several runners
     * would read the same rows of the index at once: one of them takes the rows and the others wait
     * for it, then pass them by (items 11 and 13 of "How the hot path got here" in
     * docs/benchmarks.md). Taken in its own statement, the lock comes before the claim's snapshot,
     * so the claim sees every row an earlier claim took as running and passes it by in the index.
     * Claims are short (one index range scan and one update by primary key); completions,
     * failures and enqueues never take the lock. It is the only advisory lock Backtick takes with
     * two integer keys.
     */
    static final String CLAIM_TURN = "select pg_advisory_xact_lock('jobs'::regclass::oid::int, 1)";

    /**
     * {@link #CLAIM} for a claim that starts after the claim-order key (priority, run_at, id) of
     * the last job an earlier claim took rather than at the head of the claim index: the rest of
     * that priority after the key, then the lower priorities, two range scans of the index one
     * after the other (each bound with the workers and the limit). The head of the index keeps an
     * entry for every job claimed since the table was last vacuumed, and a claim from the head
     * reads them all again (a heap visit each until the entry is marked dead, which cannot happen
     * while any transaction could still see the job available, such as one left open for
     * minutes). A claim that starts after them reads none of them.
     */
    static final String CLAIM_AFTER = """
            with claimable as (
                (select ctid from jobs
                 where state = 'available' and worker = any(?) and priority = ? and (run_at, id) > (?, ?)
                 order by priority desc, run_at, id
                 limit ?)
                union all
                (select ctid from jobs
                 where state = 'available' and worker = any(?) and priority < ?
                 order by priority desc, run_at, id
                 limit ?)
                limit ?)
            update jobs set state = 'running', attempt = attempt + 1, attempted_at = now(), runner_id = ?
            where ctid = any(array(select ctid from claimable)) and state >= 'available' and state <= 'available'
            returning id, worker, queue, args, attempt, max_attempts, created_at, schedule_tick, priority, run_at
            """;

    /**
     * Up to {@code ?} available jobs of the workers in {@code ?} that come before a
     * point in claim order (priority {@code ?}, run_at {@code ?}, id {@code ?}): the higher
     * priorities, then that priority up to the point, two range scans of the claim index that
     * each stop at the point. It reads the head of the index, every entry of a job claimed since
     * the table was last vacuumed (or since a transaction left open began), so it runs off the
     * claim path ({@link io.backtick.runner.engine.Sweeper}), locks nothing and takes no turn.
     */
    static final String AVAILABLE_BEFORE = """
            (select priority, run_at, id from jobs
             where state = 'available' and worker = any(?) and priority > ?
             order by priority desc, run_at, id
             limit ?)
            union all
            (select priority, run_at, id from jobs
             where state = 'available' and worker = any(?) and priority = ? and (run_at, id) < (?, ?)
             order by priority desc, run_at, id
             limit ?)
            limit ?
            """;

    /**
     * Claims the jobs of the ids in {@code ?2} that are still available for runner {@code ?1},
     * sent behind {@link #CLAIM_TURN} as every claim is: a few jobs a {@link #AVAILABLE_BEFORE}
     * found, found by primary key. The state check is written as in {@link #CLAIM}, so the
     * planner never trades the primary key for the claim index.
     */
    static final String CLAIM_FOUND = """
            update jobs set state = 'running', attempt = attempt + 1, attempted_at = now(), runner_id = ?
            where id = any(?) and state >= 'available' and state <= 'available'
            returning id, worker, queue, args, attempt, max_attempts, created_at, schedule_tick, priority, run_at
            """;

    /**
     * Where a claim ended: the claim-order key of the last job it took. A claim that starts after
     * it ({@link #claim(String, String[], int, ClaimPosition)}) reads only the index entries
     * after it.
     */
    public record ClaimPosition(int priority, OffsetDateTime runAt, long id) {
        /** Claim order: highest priority first, then earliest run_at, then lowest id. */
        public static final Comparator<ClaimPosition> ORDER = Comparator.comparingInt((ClaimPosition p) -> -p.priority())
                .thenComparing(ClaimPosition::runAt)
                .thenComparingLong(ClaimPosition::id);
    }

    /** The jobs of one claim in claim order, and where it ended (null when it took none). */
    public record Claim(List<ClaimedJob> jobs, ClaimPosition end) {
    }

    /**
     * Claims up to {@code limit} available jobs of the given workers and marks them running for
     * {@code runnerId}, in one statement ({@link #CLAIM}), and returns them in claim order:
     * highest priority first, then oldest run_at, then id.
     *
     * <p>This is the runner's hottest statement, so it is plain JDBC: one SQL text, prepared once
     * per connection by the driver, its rows read by position with no record mapping. It waits
     * its turn behind other runners' claims ({@link #CLAIM_TURN}) in the same round trip: the
     * connection is in auto-commit, so the driver sends both statements with one sync, and the
     * server runs them as one transaction.
     */
    public List<ClaimedJob> claim(String runnerId, String[] workers, int limit) {
        return claim(runnerId, workers, limit, null).jobs();
    }

    /**
     * Claims as {@link #claim(String, String[], int)} does, but when {@code after} is given only
     * jobs after it in claim order ({@link #CLAIM_AFTER}); jobs before it wait for a claim from
     * the head or from a point before them (the producer's, see {@link io.backtick.runner.engine.Producer}).
     * Returns the jobs and where the claim ended.
     */
    public Claim claim(String runnerId, String[] workers, int limit, ClaimPosition after) {
        return claimDsl.connectionResult(c -> {
            try (PreparedStatement claim = c.prepareStatement(CLAIM_TURN + ";\n" + (after == null ? CLAIM : CLAIM_AFTER))) {
                Array names = c.createArrayOf("text", workers);
                if (after == null) {
                    claim.setArray(1, names);
                    claim.setInt(2, limit);
                    claim.setString(3, runnerId);
                } else {
                    claim.setArray(1, names);
                    claim.setInt(2, after.priority());
                    claim.setObject(3, after.runAt());
                    claim.setLong(4, after.id());
                    claim.setInt(5, limit);
                    claim.setArray(6, names);
                    claim.setInt(7, after.priority());
                    claim.setInt(8, limit);
                    claim.setInt(9, limit);
                    claim.setString(10, runnerId);
                }
                List<Claimed> rows = claimedRows(claim, limit);
                List<ClaimedJob> jobs = inClaimOrder(rows);
                return new Claim(jobs, rows.isEmpty() ? null : rows.get(rows.size() - 1).position());
            } catch (SQLException e) {
                throw new DataAccessException("claiming jobs failed: " + e.getMessage(), e);
            }
        });
    }

    /**
     * Where up to {@code limit} available jobs of the given workers before {@code before} in claim
     * order stand ({@link #AVAILABLE_BEFORE}), in claim order. Reads only; claims nothing.
     */
    public List<ClaimPosition> availableBefore(String[] workers, ClaimPosition before, int limit) {
        return claimDsl.connectionResult(c -> {
            try (PreparedStatement find = c.prepareStatement(AVAILABLE_BEFORE)) {
                Array names = c.createArrayOf("text", workers);
                find.setArray(1, names);
                find.setInt(2, before.priority());
                find.setInt(3, limit);
                find.setArray(4, names);
                find.setInt(5, before.priority());
                find.setObject(6, before.runAt());
                find.setLong(7, before.id());
                find.setInt(8, limit);
                find.setInt(9, limit);
                List<ClaimPosition> found = new ArrayList<>();
                try (ResultSet r = find.executeQuery()) {
                    while (r.next()) {
                        found.add(new ClaimPosition(r.getInt(1), r.getObject(2, OffsetDateTime.class), r.getLong(3)));
                    }
                }
                found.sort(ClaimPosition.ORDER);
                return found;
            } catch (SQLException e) {
                throw new DataAccessException("looking for jobs behind the claims failed: " + e.getMessage(), e);
            }
        });
    }

    /**
     * Claims those of the jobs {@code ids} that are still available, for {@code runnerId}, taking
     * the claims' turn ({@link #CLAIM_FOUND}); returns them in claim order.
     */
    public List<ClaimedJob> claimFound(String runnerId, long[] ids) {
        return claimDsl.connectionResult(c -> {
            try (PreparedStatement claim = c.prepareStatement(CLAIM_TURN + ";\n" + CLAIM_FOUND)) {
                claim.setString(1, runnerId);
                claim.setObject(2, ids);
                return inClaimOrder(claimedRows(claim, ids.length));
            } catch (SQLException e) {
                throw new DataAccessException("claiming jobs found behind the claims failed: " + e.getMessage(), e);
            }
        });
    }

    /** Runs a claim sent behind its turn and reads the rows it returns. */
    private static List<Claimed> claimedRows(PreparedStatement claim, int expected) throws SQLException {
        claim.execute();
        if (!claim.getMoreResults()) {
            throw new SQLException("the claim sent back no result after taking its turn");
        }
        List<Claimed> rows = new ArrayList<>(expected);
        try (ResultSet r = claim.getResultSet()) {
            while (r.next()) {
                OffsetDateTime tick = r.getObject(8, OffsetDateTime.class);
                ClaimedJob job = new ClaimedJob(r.getLong(1), r.getString(2), r.getString(3), r.getString(4),
                        r.getInt(5), r.getInt(6), r.getObject(7, OffsetDateTime.class).toInstant(),
                        tick == null ? null : tick.toInstant());
                rows.add(new Claimed(job, new ClaimPosition(r.getInt(9), r.getObject(10, OffsetDateTime.class), job.id())));
            }
        }
        return rows;
    }

    /** A claimed job with its place in claim order. */
    private record Claimed(ClaimedJob job, ClaimPosition position) {
    }

    private static final Comparator<Claimed> CLAIM_ORDER = Comparator.comparing(Claimed::position, ClaimPosition.ORDER);

    /** The update returns its rows in primary key order; usually that is already claim order. */
    private static List<ClaimedJob> inClaimOrder(List<Claimed> rows) {
        for (int i = 1; i < rows.size(); i++) {
            if (CLAIM_ORDER.compare(rows.get(i - 1), rows.get(i)) > 0) {
                rows.sort(CLAIM_ORDER);
                break;
            }
        }
        List<ClaimedJob> jobs = new ArrayList<>(rows.size());
        for (Claimed row : rows) {
            jobs.add(row.job());
        }
        return jobs;
    }

    /**
     * Writes the outcomes of many attempts in at most two statements: one for completions, the
     * common case, and one for the rest. Each row is matched on job id and attempt number and only
     * while the job is still running, so an outcome that arrives after the job was taken from this
     * runner changes nothing. Returns the number of jobs updated.
     */
    public int finish(Collection<Outcome> outcomes) {
        List<Outcome> completed = new ArrayList<>(outcomes.size());
        List<Outcome> others = new ArrayList<>();
        for (Outcome o : outcomes) {
            (o.kind() == Outcome.Kind.COMPLETED ? completed : others).add(o);
        }
        // Writing either part twice changes nothing (both match only running jobs), so a batch
        // retried after a failure between the two statements is safe.
        return complete(completed) + finishOthers(others);
    }

    /**
     * The common case: jobs that returned, marked completed, one statement per attempt number
     * (nearly always just one). Every statement that finishes jobs finds them by primary key
     * ({@code id = any(…)}, or {@code id = ?}) and joins nothing: statistics taken while few jobs
     * ran promise the planner a single running row, and a join it plans on that promise compares
     * every running job with every outcome (see V5__running_index_for_rescue_only.sql).
     */
    private int complete(List<Outcome> outcomes) {
        Map<Integer, List<Long>> byAttempt = new LinkedHashMap<>();
        for (Outcome o : outcomes) {
            byAttempt.computeIfAbsent(o.attempt(), a -> new ArrayList<>()).add(o.jobId());
        }
        return dsl.connectionResult(c -> {
            int updated = 0;
            try (PreparedStatement complete = c.prepareStatement(COMPLETE)) {
                for (Map.Entry<Integer, List<Long>> group : byAttempt.entrySet()) {
                    List<Long> ids = group.getValue();
                    long[] array = new long[ids.size()];
                    for (int i = 0; i < array.length; i++) {
                        array[i] = ids.get(i);
                    }
                    complete.setObject(1, array);
                    complete.setInt(2, group.getKey());
                    updated += complete.executeUpdate();
                }
            } catch (SQLException e) {
                throw new DataAccessException("writing completions failed: " + e.getMessage(), e);
            }
            return updated;
        });
    }

    /**
     * Retries, discards, hand-backs and cancellations, with their errors: one single-row update
     * per outcome, sent together as one JDBC batch (one round trip). A released job gives its
     * attempt back: the runner stopped, the job did not fail; where released jobs start in claim
     * order is announced to every listening runner, in a statement of its own, and so is when
     * the first retry falls due ({@code V11__announce_retries.sql}).
     */
    private int finishOthers(List<Outcome> outcomes) {
        if (outcomes.isEmpty()) {
            return 0;
        }
        BatchBindStep batch = dsl.batch(dsl.query("""
                update jobs set
                    state = ?::job_state,
                    attempt = case when ? = 'available' then attempt - 1 else attempt end,
                    run_at = case ?
                                 when 'retryable' then now() + ? * interval '1 millisecond'
                                 when 'available' then now()
                                 else run_at end,
                    finalized_at = case when ? in ('completed', 'discarded', 'cancelled') then now() end,
                    errors = case when ?::jsonb is null then errors else errors || jsonb_build_array(?::jsonb) end
                where id = ? and attempt = ? and state = 'running'
                """, null, null, null, null, null, null, null, null, null));
        for (Outcome o : outcomes) {
            String state = switch (o.kind()) {
                case COMPLETED -> "completed";
                case RETRY -> "retryable";
                case DISCARD -> "discarded";
                case RELEASE -> "available";
                case CANCEL -> "cancelled";
            };
            Long delay = o.retryIn() == null ? null : o.retryIn().toMillis();
            String error = o.error() == null ? null : toJson(o.error());
            batch = batch.bind(state, state, state, delay, state, error, error, o.jobId(), o.attempt());
        }
        int updated = 0;
        for (int n : batch.execute()) {
            updated += Math.max(n, 0);
        }
        Long[] released = outcomes.stream()
                .filter(o -> o.kind() == Outcome.Kind.RELEASE)
                .map(Outcome::jobId)
                .toArray(Long[]::new);
        if (released.length > 0) {
            // Jobs a stopping runner hands back are claimed by the others at once, wherever
            // they stand in claim order (their priority may put them before those runners' claims).
            dsl.fetchOne("""
                    with released as (
                        select state, priority, run_at from jobs where id = any(?::bigint[]) and state = 'available'
                    )
                    """ + MadeAvailable.announcing("released"), (Object) released);
        }
        Long[] retried = outcomes.stream()
                .filter(o -> o.kind() == Outcome.Kind.RETRY)
                .map(Outcome::jobId)
                .toArray(Long[]::new);
        if (retried.length > 0) {
            // This runner's stager hears of its retries from the completer; the other runners hear
            // here when the first falls due, so it is staged on time even if this runner stops first.
            // Committed as a stage's announcement is: a notification lost in a crash leaves the
            // retries to the runners' polls.
            dsl.fetchMany(ASYNC_COMMIT + """
                    ;
                    select backtick_announce_due(current_schema(),
                        (select min(run_at) from jobs where id = any(?::bigint[]) and state = 'retryable'))
                    """, (Object) retried);
        }
        return updated;
    }

    /**
     * Makes scheduled and retryable jobs whose time has come available, up to {@code limit} at a
     * time, oldest first, and announces where they start in claim order to every runner listening
     * on the queue ({@link MadeAvailable}), as the stager does: {@link #stageDue(int, OffsetDateTime)},
     * then {@link #announce}. Locks only those rows, skipping any another runner's stager holds.
     */
    public MadeAvailable stageDue(int limit) {
        MadeAvailable made = stageDue(limit, null).made();
        announce(made);
        return made;
    }

    /**
     * Stages the due jobs whose run_at is {@code from} or later ({@code null}: all of them), up to
     * {@code limit}, reading {@code jobs_due_idx} from there instead of from its start: that index
     * keeps an entry for every job staged since the oldest transaction still open in the database
     * began, and a stage from the start passes them all.
     *
     * <p>The stage commits without waiting for the WAL flush ({@link #ASYNC_COMMIT}) and does not
     * announce the jobs itself: the caller tells its own producer first, then {@link #announce}s
     * them to the other runners. A transaction that notifies takes, at commit, a lock that every
     * notifying transaction of the database takes (so that notifications arrive in commit order)
     * and holds it through its WAL flush; a stage that notified waited behind any enqueue
     * committing at the same moment, and behind its own flush. On this machine a flush takes 1 ms
     * at the median and 33–98 ms at the 99th percentile, so scheduled jobs started late by that
     * much about once in a hundred (docs/benchmarks.md, "Scheduled jobs on time").
     */
    public Stage stageDue(int limit, OffsetDateTime from) {
        Results results = from == null ? dsl.fetchMany(ASYNC_COMMIT + ";\n" + STAGE_DUE, limit)
                : dsl.fetchMany(ASYNC_COMMIT + ";\n" + STAGE_DUE_FROM, from, limit);
        Record row = results.get(1).get(0);
        return new Stage(MadeAvailable.of(row), row.get("latest", OffsetDateTime.class),
                row.get("next_due", OffsetDateTime.class), row.get("database_now", OffsetDateTime.class));
    }

    /**
     * Announces jobs a stage made available to every runner listening on the queue, in a
     * transaction of its own that does not wait for the WAL flush either (a notification lost in
     * a crash leaves the jobs to the runners' looks at the head of the claim index). Nothing to
     * announce when the stage made none available.
     */
    public void announce(MadeAvailable made) {
        if (made.start() != null) {
            dsl.fetchMany(ASYNC_COMMIT + ";\nselect backtick_announce_available(current_schema(), ?, ?::timestamptz)",
                    made.start().priority(), made.start().runAt());
        }
    }

    /**
     * Sent ahead of a stage or its announcement, in the same round trip to the server and so in
     * the same implicit transaction (as {@link #CLAIM_TURN} is ahead of a claim): its commit does
     * not wait for the WAL flush. The setting holds for that transaction only. A stage lost in a
     * PostgreSQL crash leaves its jobs due, to be staged again by the next round; whatever a
     * runner did with them afterwards (a claim, a completion) comes later in the WAL, so it is
     * lost with the stage or its flush takes the stage along. Claims commit so too
     * ({@link QueueDatabase#jobsForProducer}).
     */
    static final String ASYNC_COMMIT = "select set_config('synchronous_commit', 'off', true)";

    /**
     * What a stage made available, the latest run_at among the jobs it staged (null when none),
     * the earliest run_at of the jobs still waiting for their time (null when none), and the
     * database's clock as the statement ended, to tell how far off that run_at is.
     */
    public record Stage(MadeAvailable made, OffsetDateTime latest, OffsetDateTime nextDue, OffsetDateTime databaseNow) {
    }

    /**
     * Stages up to {@code ?} due jobs whose run_at comes after a point ({@code %s}), oldest first,
     * and reads when the next waiting job falls due: a range scan of {@code jobs_due_idx} from now
     * on, which passes none of the entries of jobs staged before (their run_at has passed). The
     * jobs due now that the stage left to another runner's stage are not among those.
     */
    private static final String STAGE = """
            with due as (
                select id from jobs
                where state in ('scheduled', 'retryable')%s and run_at <= now() -- reads jobs_due_idx
                order by run_at
                limit ?
                for update skip locked
            ), staged as (
                update jobs set state = 'available'
                where id = any(array(select id from due))
                returning state, priority, run_at
            )
            """ + MadeAvailable.counting("staged", ", max(run_at) as latest, clock_timestamp() as database_now, "
            + "(select min(run_at) from jobs where state in ('scheduled', 'retryable') and run_at > now()) as next_due");

    /** Stages up to {@code ?} due jobs, oldest first: see {@link #stageDue}. */
    static final String STAGE_DUE = STAGE.formatted("");

    /** Stages up to {@code ?2} due jobs whose run_at is {@code ?1} or later, oldest first. */
    static final String STAGE_DUE_FROM = STAGE.formatted(" and run_at >= ?::timestamptz");

    /** Records the defaults each worker declares; the last runner to start with a worker wins. */
    public void registerWorkers(Collection<WorkerDefaults> workers) {
        if (workers.isEmpty()) {
            return;
        }
        var insert = dsl.insertInto(WORKERS, WORKERS.NAME, WORKERS.QUEUE, WORKERS.PRIORITY, WORKERS.MAX_ATTEMPTS,
                WORKERS.TIMEOUT_MS);
        for (WorkerDefaults w : workers) {
            insert = insert.values(w.name(), w.queue(), w.priority(), w.maxAttempts(), w.timeoutMillis());
        }
        insert.onConflict(WORKERS.NAME)
                .doUpdate()
                .set(WORKERS.QUEUE, DSL.excluded(WORKERS.QUEUE))
                .set(WORKERS.PRIORITY, DSL.excluded(WORKERS.PRIORITY))
                .set(WORKERS.MAX_ATTEMPTS, DSL.excluded(WORKERS.MAX_ATTEMPTS))
                .set(WORKERS.TIMEOUT_MS, DSL.excluded(WORKERS.TIMEOUT_MS))
                .set(WORKERS.UPDATED_AT, currentOffsetDateTime())
                .execute();
    }

    /** Whether any runner has declared a worker of this name. */
    public boolean isWorkerDeclared(String name) {
        return dsl.connectionResult(c -> isWorkerDeclared(c, name));
    }

    /** {@link #isWorkerDeclared(String)} on {@code c}, in plain JDBC. */
    static boolean isWorkerDeclared(Connection c, String name) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(WORKER_DECLARED)) {
            s.setString(1, name);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next();
            }
        }
    }

    static final String WORKER_DECLARED = "select 1 from workers where name = ?";

    public Optional<JobView> find(long id) {
        return dsl.selectFrom(JOBS).where(JOBS.ID.eq(id)).fetchOptional(JobQueue::view);
    }

    /** The newest jobs first, optionally only those in one state or of one worker. */
    public List<JobView> list(JobState state, String worker, int limit) {
        Condition where = DSL.noCondition();
        if (state != null) {
            where = where.and(JOBS.STATE.eq(io.backtick.jooq.enums.JobState.valueOf(state.sqlName())));
        }
        if (worker != null) {
            where = where.and(JOBS.WORKER.eq(worker));
        }
        return dsl.selectFrom(JOBS).where(where).orderBy(JOBS.ID.desc()).limit(limit).fetch(JobQueue::view);
    }

    /** How many jobs are in each state (states with none are left out). */
    public Map<JobState, Long> countByState() {
        Map<JobState, Long> counts = new LinkedHashMap<>();
        dsl.select(JOBS.STATE, DSL.count())
                .from(JOBS)
                .groupBy(JOBS.STATE)
                .orderBy(JOBS.STATE)
                .forEach(r -> counts.put(state(r.value1()), r.value2().longValue()));
        return counts;
    }

    private static JobView view(JobsRecord r) {
        return new JobView(r.getId(), r.getWorker(), r.getQueue(), r.getArgs().data(), state(r.getState()),
                r.getPriority(), r.getAttempt(), r.getMaxAttempts(), instant(r.getRunAt()), instant(r.getCreatedAt()),
                instant(r.getAttemptedAt()), instant(r.getFinalizedAt()), r.getRunnerId(), r.getErrors().data(),
                r.getUniqueKey());
    }

    private static JobState state(io.backtick.jooq.enums.JobState state) {
        return JobState.valueOf(state.getLiteral().toUpperCase(java.util.Locale.ROOT));
    }

    private static java.time.Instant instant(OffsetDateTime t) {
        return t == null ? null : t.toInstant();
    }

    private static String toJson(AttemptError error) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("attempt", error.attempt());
        json.put("at", error.at().toString());
        json.put("kind", error.kind());
        json.put("class", error.errorClass());
        json.put("message", error.message());
        json.put("stacktrace", error.stackTrace());
        try {
            return JSON.writeValueAsString(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write an attempt error as JSON", e);
        }
    }
}
