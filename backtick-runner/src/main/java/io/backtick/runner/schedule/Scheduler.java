package io.backtick.runner.schedule;

import io.backtick.api.Schedule;
import io.backtick.api.WorkerOptions;
import io.backtick.runner.engine.DatabaseHealth;
import io.backtick.runner.engine.PeriodicLoop;
import io.backtick.runner.plugin.WorkerDefinition;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.JobQueue;
import io.backtick.runner.queue.ScheduleQueue;
import io.backtick.runner.queue.ScheduleRow;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the due ticks of this runner's schedules into jobs, every {@code checkEvery}. Every runner
 * that declares a schedule runs this for it; the database decides which of them creates each
 * tick's job (see {@link ScheduleQueue#fire}), so a tick becomes exactly one job. Time is the
 * database's clock, so machines with skewed clocks agree on it.
 *
 * <p>A tick at most {@link ScheduleSpec#MISSED_AFTER} late is caught up, one job per tick. Older
 * ticks were missed (no runner served the schedule): they become one job for the whole window, or
 * none, as the schedule's {@link Schedule.Missed} policy says.
 *
 * <p>A round comes when the next tick is due (read with the due schedules, {@link ScheduleQueue#dueNow}),
 * so a tick's job is created within milliseconds of it, and at least every {@code checkEvery}
 * besides, for schedules paused, resumed or declared by others meanwhile.
 */
public final class Scheduler extends PeriodicLoop {

    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);
    /** Bounds one round's catching up, so a backlog of ticks cannot hold the loop for long. */
    private static final int MAX_TICKS_PER_ROUND = 1_000;

    private final ScheduleQueue queue;
    private final WorkerRegistry workers;
    private final String[] names;
    /** Told, after a round that created jobs, where the earliest of them stands in claim order. */
    private final Consumer<JobQueue.ClaimPosition> onFired;
    private final Map<String, ScheduleSpec> parsed = new ConcurrentHashMap<>();
    private final Set<String> reportedBroken = ConcurrentHashMap.newKeySet();

    /**
     * What one round did, and how long after its last reading the next tick comes (empty when no
     * schedule has one).
     */
    public record Round(int fired, int skipped, int raced, Optional<Duration> untilNextTick) {
    }

    public Scheduler(ScheduleQueue queue, WorkerRegistry workers, DatabaseHealth health, Duration checkEvery,
                     Consumer<JobQueue.ClaimPosition> onFired) {
        super("scheduler", health, checkEvery, Duration.ofSeconds(10));
        this.queue = queue;
        this.workers = workers;
        this.names = workers.schedules().stream().map(WorkerRegistry.ScheduleDefinition::name).toArray(String[]::new);
        this.onFired = onFired;
    }

    /** One round at the database's current time, read with each reading of the due schedules. */
    public Round runOnce() {
        return run(() -> queue.dueNow(names));
    }

    /** One round as if it were {@code now}: creates the jobs of every tick due by then. */
    public Round runOnce(Instant now) {
        return run(() -> queue.due(names, now));
    }

    private Round run(Supplier<ScheduleQueue.Ticks> read) {
        int fired = 0;
        int skipped = 0;
        int raced = 0;
        JobQueue.ClaimPosition earliest = null;
        ScheduleQueue.Ticks ticks = null;
        for (int round = 0; round < MAX_TICKS_PER_ROUND; round++) {
            ticks = read.get();
            List<ScheduleRow> due = ticks.due();
            Instant now = ticks.now();
            if (due.isEmpty()) {
                break;
            }
            boolean progressed = false;
            for (ScheduleRow row : due) {
                Optional<ScheduleSpec> spec = spec(row);
                if (spec.isEmpty()) {
                    continue;
                }
                Instant tick = row.nextRunAt();
                boolean missed = Duration.between(tick, now).compareTo(ScheduleSpec.MISSED_AFTER) > 0;
                Optional<Instant> next = missed ? spec.get().nextAfterNow(tick, now) : spec.get().nextAfter(tick);
                if (next.isEmpty()) {
                    report(row, "has no time after " + tick + "; it will not run again");
                    continue;
                }
                if (missed && spec.get().missed() == Schedule.Missed.SKIP) {
                    if (queue.skip(row.name(), tick, next.get())) {
                        skipped++;
                        progressed = true;
                        log.info("Schedule {} skipped the ticks it missed since {}; next at {}", row.name(), tick, next.get());
                    } else {
                        raced++;
                    }
                    continue;
                }
                WorkerOptions options = workers.find(row.name()).map(WorkerDefinition::options)
                        .orElse(WorkerOptions.defaults());
                Optional<Long> job = queue.fire(row.name(), tick, next.get(), options.queue(), options.priority(),
                        options.maxAttempts());
                if (job.isPresent()) {
                    fired++;
                    JobQueue.ClaimPosition start = new JobQueue.ClaimPosition(options.priority(), tick.atOffset(ZoneOffset.UTC), 0);
                    if (earliest == null || JobQueue.ClaimPosition.ORDER.compare(start, earliest) < 0) {
                        earliest = start;
                    }
                    progressed = true;
                    if (missed) {
                        log.info("Schedule {} missed its ticks since {}: running once for them (job {}); next at {}",
                                row.name(), tick, job.get(), next.get());
                    } else {
                        log.debug("Schedule {} tick {}: job {}", row.name(), tick, job.get());
                    }
                } else {
                    raced++;
                }
            }
            if (!progressed) {
                break;
            }
        }
        if (earliest != null) {
            onFired.accept(earliest);
        }
        return new Round(fired, skipped, raced, ticks == null ? Optional.empty() : ticks.untilNext());
    }

    private Optional<ScheduleSpec> spec(ScheduleRow row) {
        String key = row.name() + '\u0000' + row.kind() + '\u0000' + row.spec() + '\u0000' + row.zone() + '\u0000' + row.missed();
        ScheduleSpec spec = parsed.get(key);
        if (spec == null) {
            try {
                spec = ScheduleSpec.stored(row.name(), row.kind(), row.spec(), row.zone(), row.missed());
            } catch (RuntimeException e) {
                report(row, "cannot be read: " + e.getMessage());
                return Optional.empty();
            }
            parsed.put(key, spec);
        }
        return Optional.of(spec);
    }

    private void report(ScheduleRow row, String problem) {
        if (reportedBroken.add(row.name() + problem)) {
            log.warn("Schedule {} {}", row.name(), problem);
        }
    }

    @Override
    protected void round() {
        runOnce().untilNextTick().ifPresent(next -> roundBy(System.nanoTime() + next.toNanos()));
    }

    /** For the start-up log line. */
    public static String describe(ScheduleSpec spec) {
        return spec.name() + " (" + spec.describe() + (spec.kind() == Schedule.Kind.CRON ? " " + spec.zone() : "") + ")";
    }
}
