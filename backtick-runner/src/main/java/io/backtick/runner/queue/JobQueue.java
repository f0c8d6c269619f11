package io.backtick.runner.queue;

import static io.backtick.jooq.Tables.JOBS;
import static io.backtick.jooq.Tables.WORKERS;
import static org.jooq.impl.DSL.currentOffsetDateTime;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.name;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.backtick.api.JobState;
import io.backtick.jooq.tables.records.JobsRecord;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jooq.BatchBindStep;
import org.jooq.CommonTableExpression;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record1;
import org.jooq.JSONB;
import org.jooq.Record;
import org.jooq.ResultQuery;
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
     * Claims up to {@code limit} available jobs of the given workers and marks them running for
     * {@code runnerId}, counting the attempt, in one statement. The CTE locks the chosen rows with
     * {@code FOR UPDATE SKIP LOCKED}: concurrent runners skip each other's rows instead of waiting
     * on them, so no job is claimed twice and no claimer blocks another. The CTE reads the
     * {@code jobs_claim_idx} partial index in order and stops after {@code limit} matching rows.
     */
    public List<ClaimedJob> claim(String runnerId, String[] workers, int limit) {
        // Read by position into plain records: mapping RETURNING rows into table records costs
        // more than the rest of the claim on the runner's side. The update returns rows in
        // primary key order; they are handed over in claim order.
        return claimQuery(runnerId, workers, limit)
                .fetch()
                .sortAsc(Comparator.comparing((Record r) -> -r.get(8, Integer.class))
                        .thenComparing(r -> r.get(9, OffsetDateTime.class))
                        .thenComparing(r -> r.get(0, Long.class)))
                .map(r -> new ClaimedJob(r.get(0, Long.class), r.get(1, String.class), r.get(2, String.class),
                        r.get(3, JSONB.class).data(), r.get(4, Integer.class), r.get(5, Integer.class),
                        r.get(6, OffsetDateTime.class).toInstant(), instant(r.get(7, OffsetDateTime.class))));
    }

    /** The claim statement, for {@link #claim} and for tests that read its plan. */
    ResultQuery<? extends Record> claimQuery(String runnerId, String[] workers, int limit) {
        CommonTableExpression<Record1<Long>> claimable = name("claimable").fields("id").as(
                DSL.select(JOBS.ID)
                        .from(JOBS)
                        .where(JOBS.STATE.eq(inline(io.backtick.jooq.enums.JobState.available)))
                        .and(JOBS.WORKER.eq(DSL.any(workers)))
                        .orderBy(JOBS.PRIORITY.desc(), JOBS.RUN_AT, JOBS.ID)
                        .limit(limit)
                        .forUpdate()
                        .skipLocked());
        Field<Long> claimedId = claimable.field("id", Long.class);
        return claimDsl.with(claimable)
                .update(JOBS)
                .set(JOBS.STATE, io.backtick.jooq.enums.JobState.running)
                .set(JOBS.ATTEMPT, JOBS.ATTEMPT.plus(1))
                .set(JOBS.ATTEMPTED_AT, currentOffsetDateTime())
                .set(JOBS.RUNNER_ID, runnerId)
                // "id = any(array(select …))" rather than a join: the planner then always goes by
                // primary key, where a join may be planned as a hash join over a full table scan.
                .where(JOBS.ID.eq(DSL.any(DSL.array(DSL.select(claimedId).from(claimable)))))
                .returningResult(JOBS.ID, JOBS.WORKER, JOBS.QUEUE, JOBS.ARGS, JOBS.ATTEMPT, JOBS.MAX_ATTEMPTS,
                        JOBS.CREATED_AT, JOBS.SCHEDULE_TICK, JOBS.PRIORITY, JOBS.RUN_AT);
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
        int updated = 0;
        for (Map.Entry<Integer, List<Long>> group : byAttempt.entrySet()) {
            updated += dsl.execute(COMPLETE, group.getValue().toArray(new Long[0]), group.getKey());
        }
        return updated;
    }

    /**
     * Retries, discards, hand-backs and cancellations, with their errors: one single-row update
     * per outcome, sent together as one JDBC batch (one round trip). A released job gives its
     * attempt back: the runner stopped, the job did not fail.
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
        return updated;
    }

    /**
     * Makes scheduled and retryable jobs whose time has come available, up to {@code limit} at a
     * time, oldest first. Locks only those rows, skipping any another runner's stager holds.
     */
    public int stageDue(int limit) {
        CommonTableExpression<Record1<Long>> due = name("due").fields("id").as(
                DSL.select(JOBS.ID)
                        .from(JOBS)
                        .where(JOBS.STATE.in(inline(io.backtick.jooq.enums.JobState.scheduled),
                                inline(io.backtick.jooq.enums.JobState.retryable)))
                        .and(JOBS.RUN_AT.le(currentOffsetDateTime()))
                        .orderBy(JOBS.RUN_AT)
                        .limit(limit)
                        .forUpdate()
                        .skipLocked());
        return dsl.with(due)
                .update(JOBS)
                .set(JOBS.STATE, io.backtick.jooq.enums.JobState.available)
                .where(JOBS.ID.eq(DSL.any(DSL.array(DSL.select(due.field("id", Long.class)).from(due)))))
                .execute();
    }

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
        return dsl.fetchExists(WORKERS, WORKERS.NAME.eq(name));
    }

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
                instant(r.getAttemptedAt()), instant(r.getFinalizedAt()), r.getRunnerId(), r.getErrors().data());
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
