package io.backtick.runner.queue;

import static io.backtick.jooq.Tables.JOBS;
import static io.backtick.jooq.Tables.RUNNERS;
import static io.backtick.jooq.Tables.SCHEDULES;
import static org.jooq.impl.DSL.inline;

import io.backtick.api.JobState;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
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
import org.jooq.exception.DataAccessException;
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

    /**
     * What a scheduler round reads in one statement: the database's clock ({@code now}), the
     * unpaused schedules whose tick has come by it, soonest first ({@code due}), and the earliest
     * tick still to come among the others ({@code next}; null when none has one).
     */
    public record Ticks(Instant now, List<ScheduleRow> due, Instant next) {

        /** How long from {@code now} until the next tick; empty if there is none. */
        public Optional<Duration> untilNext() {
            return next == null ? Optional.empty() : Optional.of(Duration.between(now, next));
        }
    }

    /**
     * The clock is read once (a volatile function in a subquery of its own), with every schedule
     * of the round; a time given in its place stands for it.
     */
    private static final String DUE_NOW = """
            select n.now, s.name, s.kind, s.spec, s.zone, s.missed, s.next_run_at, s.last_run_at
            from (select coalesce(?::timestamptz, clock_timestamp()) as now) n
            left join schedules s on s.name = any(?) and not s.paused
            order by s.next_run_at
            """;

    /**
     * The unpaused schedules among {@code names} as of the database's clock now: those due and
     * when the next tick comes ({@link Ticks}). A tick's job waits for this read and the fire, so
     * it is written in plain JDBC: it runs once a tick, too seldom for the JIT to compile jOOQ's
     * rendering, which took milliseconds of each read.
     */
    public Ticks dueNow(String[] names) {
        return due(names, null);
    }

    /** {@link #dueNow} as if the database's clock read {@code now} ({@code null}: as it reads). */
    public Ticks due(String[] names, Instant now) {
        return dsl.connectionResult(c -> {
            try (PreparedStatement read = c.prepareStatement(DUE_NOW)) {
                read.setObject(1, now == null ? null : utc(now));
                read.setArray(2, c.createArrayOf("text", names));
                Instant clock = null;
                Instant next = null;
                List<ScheduleRow> due = new ArrayList<>();
                try (ResultSet rows = read.executeQuery()) {
                    while (rows.next()) {
                        clock = rows.getObject(1, OffsetDateTime.class).toInstant();
                        String name = rows.getString(2);
                        if (name == null) {
                            continue; // none of the names is an unpaused schedule
                        }
                        Instant tick = rows.getObject(7, OffsetDateTime.class).toInstant();
                        OffsetDateTime last = rows.getObject(8, OffsetDateTime.class);
                        if (!tick.isAfter(clock)) {
                            due.add(new ScheduleRow(name, rows.getString(3), rows.getString(4), rows.getString(5),
                                    rows.getString(6), false, tick, last == null ? null : last.toInstant()));
                        } else if (next == null) {
                            next = tick; // rows come soonest first
                        }
                    }
                }
                return new Ticks(clock, due, next);
            } catch (SQLException e) {
                throw new DataAccessException("reading the due schedules failed: " + e.getMessage(), e);
            }
        });
    }

    /**
     * Turns {@code tick} of schedule {@code name} into a job and moves the schedule on to
     * {@code next}, if the schedule still points at {@code tick}. Returns the new job's id, or
     * empty when another runner got there first. The job takes the worker's queue, priority and
     * maximum attempts.
     */
    public Optional<Long> fire(String name, Instant tick, Instant next, String queue, int priority, int maxAttempts) {
        return dsl.connectionResult(c -> {
            try (PreparedStatement fire = c.prepareStatement(FIRE)) {
                fire.setObject(1, utc(next));
                fire.setObject(2, utc(tick));
                fire.setString(3, name);
                fire.setObject(4, utc(tick));
                fire.setString(5, queue);
                fire.setInt(6, priority);
                fire.setInt(7, maxAttempts);
                fire.setObject(8, utc(tick));
                fire.setObject(9, utc(tick));
                fire.execute(); // the setting's row
                fire.getMoreResults();
                try (ResultSet row = fire.getResultSet()) {
                    row.next();
                    long job = row.getLong("job_id");
                    return row.wasNull() ? Optional.<Long>empty() : Optional.of(job);
                }
            } catch (SQLException e) {
                throw new DataAccessException("firing schedule " + name + " failed: " + e.getMessage(), e);
            }
        });
    }

    /**
     * Locks the schedule row (the update) and inserts one job row, in plain JDBC as {@link #dueNow}
     * is. It commits without waiting for the WAL flush ({@link JobQueue#ASYNC_COMMIT}), so the
     * tick's job is announced and claimed that much sooner, and the notification's commit holds
     * the database's notify lock that much shorter. A fire lost in a PostgreSQL crash loses the
     * schedule's advance with its job: the tick is still due and fires again once the database is
     * back, late like any tick of a runner that was away ({@link io.backtick.runner.schedule.ScheduleSpec#MISSED_AFTER}),
     * and whatever a runner did with the job meanwhile comes later in the WAL, lost with it.
     */
    private static final String FIRE = JobQueue.ASYNC_COMMIT + """
            ;
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
            """;

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
