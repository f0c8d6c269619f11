package io.backtick.runner.queue;

import static io.backtick.jooq.Tables.JOBS;
import static io.backtick.jooq.Tables.RUNNERS;
import static io.backtick.jooq.Tables.SCHEDULES;
import static org.jooq.impl.DSL.inline;

import io.backtick.api.JobState;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.impl.DSL;

/**
 * The statements behind recurring and cron schedules. A tick becomes a job in one statement that
 * advances the schedule only if it still points at that tick (a compare-and-set) and inserts the
 * tick's job only if it advanced, with {@code ON CONFLICT DO NOTHING} on the unique
 * (schedule_name, schedule_tick) index as a second guarantee: however many runners race, one job
 * per tick, and a runner that dies halfway leaves either both changes or neither.
 */
public final class ScheduleQueue {

    private final DSLContext dsl;

    ScheduleQueue(DSLContext dsl) {
        this.dsl = dsl;
    }

    /** The database's clock: the one clock every runner agrees on. */
    public Instant now() {
        return dsl.select(DSL.field("clock_timestamp()", OffsetDateTime.class)).fetchOne().value1().toInstant();
    }

    /** A schedule a runner declares, with the first tick it would have if it were new. */
    public record Declared(String name, String kind, String spec, String zone, String missed, Instant firstTick) {
    }

    /**
     * Stores what this runner's plugins declare. A new schedule starts at its first tick; one whose
     * kind, spec or zone changed starts again from its new first tick; an unchanged one keeps its
     * next tick. Schedules no longer declared are left alone.
     */
    public void declare(Collection<Declared> schedules) {
        for (Declared s : schedules) {
            dsl.insertInto(SCHEDULES, SCHEDULES.NAME, SCHEDULES.KIND, SCHEDULES.SPEC, SCHEDULES.ZONE, SCHEDULES.MISSED,
                            SCHEDULES.NEXT_RUN_AT)
                    .values(s.name(), s.kind(), s.spec(), s.zone(), s.missed(), utc(s.firstTick()))
                    .onConflict(SCHEDULES.NAME)
                    .doUpdate()
                    .set(SCHEDULES.NEXT_RUN_AT, DSL.when(
                                    DSL.row(SCHEDULES.KIND, SCHEDULES.SPEC, SCHEDULES.ZONE).isDistinctFrom(
                                            DSL.row(DSL.excluded(SCHEDULES.KIND), DSL.excluded(SCHEDULES.SPEC),
                                                    DSL.excluded(SCHEDULES.ZONE))),
                                    DSL.excluded(SCHEDULES.NEXT_RUN_AT))
                            .otherwise(SCHEDULES.NEXT_RUN_AT))
                    .set(SCHEDULES.KIND, DSL.excluded(SCHEDULES.KIND))
                    .set(SCHEDULES.SPEC, DSL.excluded(SCHEDULES.SPEC))
                    .set(SCHEDULES.ZONE, DSL.excluded(SCHEDULES.ZONE))
                    .set(SCHEDULES.MISSED, DSL.excluded(SCHEDULES.MISSED))
                    .set(SCHEDULES.UPDATED_AT, DSL.currentOffsetDateTime())
                    .execute();
        }
    }

    /** The unpaused schedules among {@code names} whose next tick is at or before {@code now}. */
    public List<ScheduleRow> due(String[] names, Instant now) {
        return dsl.selectFrom(SCHEDULES)
                .where(SCHEDULES.NAME.eq(DSL.any(names)))
                .and(SCHEDULES.PAUSED.isFalse())
                .and(SCHEDULES.NEXT_RUN_AT.le(utc(now)))
                .orderBy(SCHEDULES.NEXT_RUN_AT)
                .fetch(ScheduleQueue::row);
    }

    /**
     * How long until the earliest tick still to come of the unpaused schedules among
     * {@code names}, by the database's clock; empty if none has one. Ticks already due (a
     * schedule that cannot be read stays at its due tick) are not counted.
     */
    public Optional<Duration> untilNextTick(String[] names) {
        Long micros = dsl.fetchOne("""
                select (extract(epoch from min(next_run_at) - clock_timestamp()) * 1000000)::bigint
                from schedules
                where name = any(?) and not paused and next_run_at > clock_timestamp()
                """, (Object) names).get(0, Long.class);
        return Optional.ofNullable(micros).map(m -> Duration.ofNanos(Math.max(0, m) * 1_000));
    }

    /**
     * Turns {@code tick} of schedule {@code name} into a job and moves the schedule on to
     * {@code next}, if the schedule still points at {@code tick}. Returns the new job's id, or
     * empty when another runner got there first. The job takes the worker's queue, priority and
     * maximum attempts.
     */
    public Optional<Long> fire(String name, Instant tick, Instant next, String queue, int priority, int maxAttempts) {
        // Locks the schedule row (the update) and inserts one job row.
        Record result = dsl.fetchOne("""
                with advanced as (
                    update schedules set next_run_at = ?::timestamptz, last_run_at = ?::timestamptz, updated_at = now()
                    where name = ? and next_run_at = ?::timestamptz and not paused
                    returning name
                ), inserted as (
                    insert into jobs (worker, args, queue, priority, max_attempts, run_at, state, schedule_name, schedule_tick)
                    select name, '[]', ?, ?::int4, ?::int4, ?::timestamptz, 'available', name, ?::timestamptz from advanced
                    on conflict (schedule_name, schedule_tick) where schedule_name is not null do nothing
                    returning id
                )
                select (select count(*) from advanced) as advanced, (select id from inserted) as job_id
                """, utc(next), utc(tick), name, utc(tick), queue, priority, maxAttempts, utc(tick), utc(tick));
        Long jobId = result.get("job_id", Long.class);
        return Optional.ofNullable(jobId);
    }

    /** Moves the schedule from {@code tick} to {@code next} without a job (missed ticks skipped). */
    public boolean skip(String name, Instant tick, Instant next) {
        return dsl.update(SCHEDULES)
                .set(SCHEDULES.NEXT_RUN_AT, utc(next))
                .set(SCHEDULES.UPDATED_AT, DSL.currentOffsetDateTime())
                .where(SCHEDULES.NAME.eq(name))
                .and(SCHEDULES.NEXT_RUN_AT.eq(utc(tick)))
                .execute() == 1;
    }

    public Optional<ScheduleRow> find(String name) {
        return dsl.selectFrom(SCHEDULES).where(SCHEDULES.NAME.eq(name)).fetchOptional(ScheduleQueue::row);
    }

    /** Pauses a schedule; returns false if there is no such schedule. */
    public boolean pause(String name) {
        return dsl.update(SCHEDULES).set(SCHEDULES.PAUSED, true).set(SCHEDULES.UPDATED_AT, DSL.currentOffsetDateTime())
                .where(SCHEDULES.NAME.eq(name)).execute() == 1;
    }

    /** Resumes a schedule from {@code next}, so ticks that passed while it was paused never run. */
    public boolean resume(String name, Instant next) {
        return dsl.update(SCHEDULES).set(SCHEDULES.PAUSED, false).set(SCHEDULES.NEXT_RUN_AT, utc(next))
                .set(SCHEDULES.UPDATED_AT, DSL.currentOffsetDateTime())
                .where(SCHEDULES.NAME.eq(name)).and(SCHEDULES.PAUSED.isTrue()).execute() == 1;
    }

    /** Every schedule, with its last job's state and the live runners declaring it. */
    public List<ScheduleStatus> statuses(Duration runnerExpiry) {
        List<ScheduleStatus> result = new ArrayList<>();
        for (ScheduleRow row : dsl.selectFrom(SCHEDULES).orderBy(SCHEDULES.NAME).fetch(ScheduleQueue::row)) {
            var last = dsl.select(JOBS.ID, JOBS.STATE).from(JOBS)
                    .where(JOBS.SCHEDULE_NAME.eq(row.name()))
                    .orderBy(JOBS.SCHEDULE_TICK.desc())
                    .limit(1)
                    .fetchOne();
            List<String> runners = dsl.select(RUNNERS.ID).from(RUNNERS)
                    .where(DSL.condition("jsonb_exists({0}, {1})", RUNNERS.WORKERS, DSL.val(row.name())))
                    .and(RUNNERS.HEARTBEAT_AT.gt(ago(runnerExpiry)))
                    .orderBy(RUNNERS.ID)
                    .fetch(RUNNERS.ID);
            result.add(new ScheduleStatus(row, last == null ? null : last.value1(),
                    last == null ? null : JobState.valueOf(last.value2().getLiteral().toUpperCase(Locale.ROOT)), runners));
        }
        return result;
    }

    private static ScheduleRow row(io.backtick.jooq.tables.records.SchedulesRecord r) {
        return new ScheduleRow(r.getName(), r.getKind(), r.getSpec(), r.getZone(), r.getMissed(), r.getPaused(),
                r.getNextRunAt().toInstant(), r.getLastRunAt() == null ? null : r.getLastRunAt().toInstant());
    }

    /** {@code now() - age}, by the database's clock. */
    static org.jooq.Field<OffsetDateTime> ago(Duration age) {
        return DSL.field("now() - {0} * interval '1 millisecond'", OffsetDateTime.class, inline(age.toMillis()));
    }

    static OffsetDateTime utc(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }
}
