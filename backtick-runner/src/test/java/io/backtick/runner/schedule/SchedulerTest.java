package io.backtick.runner.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.backtick.api.Schedule;
import io.backtick.api.WorkerOptions;
import io.backtick.runner.engine.DatabaseHealth;
import io.backtick.runner.engine.Heartbeat;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.queue.RunnerRegistry;
import io.backtick.runner.queue.ScheduleQueue;
import io.backtick.runner.queue.ScheduleRow;
import io.backtick.runner.queue.ScheduleStatus;
import io.backtick.runner.testsupport.QueueSchema;
import io.backtick.runner.testsupport.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jooq.Record2;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The scheduler driven by hand: each round is told what time it is, so hours of schedule pass in
 * milliseconds, and the database's unique key and compare-and-set are what keep ticks single.
 */
class SchedulerTest {

    @RegisterExtension
    static final QueueSchema schema = new QueueSchema(8);

    static QueueDatabase db;
    static ScheduleQueue schedules;

    @BeforeAll
    static void open() {
        db = schema.db();
        schedules = db.schedules();
    }

    @BeforeEach
    void clear() {
        db.dsl().execute("truncate jobs, workers, schedules, runners");
    }

    /** Declares {@code schedule} as a runner starting at {@code now} would, and returns that runner's scheduler. */
    private static Scheduler runner(String name, Schedule schedule, Instant now) {
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").scheduled(name, schedule, WorkerOptions.defaults().withQueue("cron-q"), job -> { });
        ScheduleSpec spec = ScheduleSpec.of(name, schedule, ZoneOffset.UTC);
        schedules.declare(List.of(new ScheduleQueue.Declared(name, spec.kindName(), spec.spec(), spec.zone().getId(),
                spec.missedName(), spec.firstTick(now).orElseThrow())));
        return new Scheduler(schedules, workers, new DatabaseHealth(), Duration.ofSeconds(1), start -> { });
    }

    /** The ticks that have jobs, with how many jobs each has. */
    private static Map<Instant, Integer> jobsPerTick(String name) {
        Map<Instant, Integer> counts = new java.util.TreeMap<>();
        for (Record2<java.time.OffsetDateTime, Integer> r : db.dsl()
                .select(io.backtick.jooq.Tables.JOBS.SCHEDULE_TICK, org.jooq.impl.DSL.count())
                .from(io.backtick.jooq.Tables.JOBS)
                .where(io.backtick.jooq.Tables.JOBS.SCHEDULE_NAME.eq(name))
                .groupBy(io.backtick.jooq.Tables.JOBS.SCHEDULE_TICK)
                .fetch()) {
            counts.put(r.value1().toInstant(), r.value2());
        }
        return counts;
    }

    private static Instant t0() {
        return Instant.parse("2026-11-28T10:00:00Z");
    }

    @Test
    void aRecurringScheduleFirstRunsOneIntervalAfterItIsFirstSeenThenEveryInterval() {
        Scheduler scheduler = runner("heartbeat", Schedule.every(Duration.ofMinutes(5)), t0());

        assertThat(scheduler.runOnce(t0().plus(Duration.ofMinutes(4))).fired()).isZero();
        assertThat(scheduler.runOnce(t0().plus(Duration.ofMinutes(5))).fired()).isEqualTo(1);
        assertThat(scheduler.runOnce(t0().plus(Duration.ofMinutes(9))).fired()).isZero();
        assertThat(scheduler.runOnce(t0().plus(Duration.ofMinutes(10))).fired()).isEqualTo(1);

        assertThat(jobsPerTick("heartbeat")).containsExactly(
                Map.entry(t0().plus(Duration.ofMinutes(5)), 1), Map.entry(t0().plus(Duration.ofMinutes(10)), 1));
        assertThat(db.dsl().fetchValue("select string_agg(distinct queue || '/' || state::text || '/' || args::text, ',') from jobs"))
                .isEqualTo("cron-q/available/[]");
    }

    @Test
    void aCronScheduleRunsAtTheTimesItNames() {
        Scheduler scheduler = runner("twice-in-the-afternoon", Schedule.cron("0 0 14,16 * * *"), t0());

        for (Instant now = t0(); now.isBefore(t0().plus(Duration.ofHours(24))); now = now.plus(Duration.ofSeconds(30))) {
            scheduler.runOnce(now);
        }

        assertThat(jobsPerTick("twice-in-the-afternoon")).containsOnlyKeys(
                Instant.parse("2026-11-28T14:00:00Z"), Instant.parse("2026-11-28T16:00:00Z"));
    }

    @Test
    void ticksAFewSecondsLateAreCaughtUpOneJobEach() {
        Scheduler scheduler = runner("every-second", Schedule.every(Duration.ofSeconds(1)), t0());

        scheduler.runOnce(t0().plusSeconds(10));

        Map<Instant, Integer> jobs = jobsPerTick("every-second");
        assertThat(jobs).hasSize(10).allSatisfy((tick, count) -> assertThat(count).isEqualTo(1));
        assertThat(jobs.keySet()).first().isEqualTo(t0().plusSeconds(1));
    }

    @Test
    void afterAnHourDownACronRunsOnceForTheMissedWindow() {
        Scheduler scheduler = runner("every-minute", Schedule.cron("0 * * * * *"), t0());
        Instant later = t0().plus(Duration.ofHours(1)).plusSeconds(30);

        Scheduler.Round round = scheduler.runOnce(later);

        assertThat(round.fired()).isEqualTo(1);
        assertThat(jobsPerTick("every-minute")).containsOnlyKeys(t0().plusSeconds(60));
        assertThat(schedules.find("every-minute").orElseThrow().nextRunAt())
                .isEqualTo(later.truncatedTo(ChronoUnit.MINUTES).plus(Duration.ofMinutes(1)));
    }

    @Test
    void afterAnHourDownASkippingScheduleRunsNoneOfTheMissedTicks() {
        Scheduler scheduler = runner("skipper", Schedule.cron("0 * * * * *").onMissed(Schedule.Missed.SKIP), t0());
        Instant later = t0().plus(Duration.ofHours(1)).plusSeconds(30);

        Scheduler.Round round = scheduler.runOnce(later);

        assertThat(round.fired()).isZero();
        assertThat(round.skipped()).isEqualTo(1);
        assertThat(jobsPerTick("skipper")).isEmpty();
        scheduler.runOnce(later.plusSeconds(30));
        assertThat(jobsPerTick("skipper")).containsOnlyKeys(later.truncatedTo(ChronoUnit.MINUTES).plus(Duration.ofMinutes(1)));
    }

    @Test
    void manyRunnersRacingOnOneScheduleMakeOneJobPerTick() throws Exception {
        int runners = 6;
        List<Scheduler> schedulers = new ArrayList<>();
        for (int i = 0; i < runners; i++) {
            schedulers.add(runner("raced", Schedule.every(Duration.ofSeconds(1)), t0()));
        }
        ExecutorService pool = Executors.newFixedThreadPool(runners);
        CyclicBarrier together = new CyclicBarrier(runners);
        try {
            List<Future<Integer>> fired = new ArrayList<>();
            for (Scheduler scheduler : schedulers) {
                fired.add(pool.submit(() -> {
                    int total = 0;
                    for (int second = 1; second <= 40; second++) {
                        together.await();
                        total += scheduler.runOnce(t0().plusSeconds(second)).fired();
                    }
                    return total;
                }));
            }
            int total = 0;
            for (Future<Integer> f : fired) {
                total += f.get();
            }
            assertThat(total).isEqualTo(40);
        } finally {
            pool.shutdownNow();
        }
        Map<Instant, Integer> jobs = jobsPerTick("raced");
        assertThat(jobs).hasSize(40).allSatisfy((tick, count) -> assertThat(count).isEqualTo(1));
    }

    @Test
    void aChangedSpecTakesEffectAndAnUnchangedOneKeepsItsNextTick() {
        runner("changing", Schedule.every(Duration.ofHours(1)), t0());
        runner("changing", Schedule.every(Duration.ofHours(1)), t0().plusSeconds(600));
        assertThat(schedules.find("changing").orElseThrow().nextRunAt()).isEqualTo(t0().plus(Duration.ofHours(1)));

        runner("changing", Schedule.every(Duration.ofMinutes(1)), t0().plusSeconds(600));
        assertThat(schedules.find("changing").orElseThrow().nextRunAt()).isEqualTo(t0().plusSeconds(660));
    }

    @Test
    void aPausedScheduleMakesNoJobsAndResumesFromItsNextTick() {
        Scheduler scheduler = runner("pausable", Schedule.every(Duration.ofMinutes(1)), t0());
        assertThat(schedules.pause("pausable")).isTrue();

        assertThat(scheduler.runOnce(t0().plus(Duration.ofMinutes(30))).fired()).isZero();
        assertThat(schedules.resume("pausable", t0().plus(Duration.ofMinutes(31)))).isTrue();
        assertThat(scheduler.runOnce(t0().plus(Duration.ofMinutes(31))).fired()).isEqualTo(1);

        assertThat(jobsPerTick("pausable")).containsOnlyKeys(t0().plus(Duration.ofMinutes(31)));
    }

    @Test
    void aReadingOfTheDueSchedulesTellsTheNextUnpausedTickStillToCome() {
        Instant now = schedules.now();
        runner("soon", Schedule.every(Duration.ofMinutes(10)), now.minus(Duration.ofMinutes(8))); // due in 2 minutes
        runner("later", Schedule.every(Duration.ofMinutes(10)), now); // due in 10 minutes
        runner("overdue", Schedule.every(Duration.ofMinutes(1)), now.minus(Duration.ofMinutes(5)));
        runner("undeclared-here", Schedule.every(Duration.ofMinutes(1)), now.minus(Duration.ofMinutes(5)));
        String[] names = {"soon", "later", "overdue"};

        ScheduleQueue.Ticks ticks = schedules.dueNow(names);
        assertThat(ticks.due()).extracting(ScheduleRow::name).containsExactly("overdue");
        assertThat(ticks.now()).isAfterOrEqualTo(now);
        assertThat(ticks.untilNext()).hasValueSatisfying(d ->
                assertThat(d).isBetween(Duration.ofMinutes(1), Duration.ofMinutes(2)));
        assertThat(schedules.pause("soon")).isTrue();
        assertThat(schedules.dueNow(names).untilNext()).hasValueSatisfying(d ->
                assertThat(d).isBetween(Duration.ofMinutes(9), Duration.ofMinutes(10)));
        assertThat(schedules.dueNow(new String[] {"overdue"}).untilNext()).isEmpty();
        assertThat(schedules.pause("overdue")).isTrue();
        ScheduleQueue.Ticks none = schedules.dueNow(new String[] {"overdue", "no-such-schedule"});
        assertThat(none.due()).isEmpty();
        assertThat(none.now()).as("the clock is read even when no schedule is").isAfterOrEqualTo(now);
    }

    @Test
    void aFireCommitsWithoutWaitingForTheFlushButLeavesItsConnectionCommittingDurably() {
        // One connection: whatever the fire left on it, the next statement meets.
        try (QueueDatabase single = TestDatabase.newQueue(SchedulerTest.class, 1)) {
            try {
                Instant tick = Instant.parse("2026-11-30T09:00:00Z");
                single.schedules().declare(List.of(new ScheduleQueue.Declared("single", "interval", "60000", "Z", "run_once", tick)));
                assertThat(single.schedules().fire("single", tick, tick.plusSeconds(60), "default", 0, 3)).isPresent();

                assertThat(single.dsl().fetchOne("show synchronous_commit").get(0, String.class)).isEqualTo("on");
                assertThat(single.schedules().find("single").orElseThrow().nextRunAt()).isEqualTo(tick.plusSeconds(60));
            } finally {
                TestDatabase.dropSchema(single.settings().schema());
            }
        }
    }

    @Test
    void aRunningSchedulerRoundsAtEachTickNotOnlyEveryCheck() {
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").scheduled("quick", Schedule.every(Duration.ofSeconds(1)), WorkerOptions.defaults(), job -> { });
        ScheduleSpec spec = ScheduleSpec.of("quick", Schedule.every(Duration.ofSeconds(1)), ZoneOffset.UTC);
        schedules.declare(List.of(new ScheduleQueue.Declared("quick", spec.kindName(), spec.spec(), spec.zone().getId(),
                spec.missedName(), spec.firstTick(schedules.now()).orElseThrow())));
        // It checks once an hour: only the reading of the next tick after each round brings the next.
        Scheduler scheduler = new Scheduler(schedules, workers, new DatabaseHealth(), Duration.ofHours(1), start -> { });
        scheduler.start();
        try {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> jobsPerTick("quick").size() >= 3);
        } finally {
            scheduler.stop();
        }
        assertThat(jobsPerTick("quick").values()).allMatch(jobs -> jobs == 1);
    }

    @Test
    void aScheduleNoLiveRunnerDeclaresIsListedAsOrphaned() {
        runner("served", Schedule.every(Duration.ofMinutes(1)), t0());
        runner("orphan", Schedule.every(Duration.ofMinutes(1)), t0());
        db.runners().register(new RunnerRegistry.RunnerInfo("runner-1", "instance-runner-1", "host", 1, "dev", List.of("served")));

        List<ScheduleStatus> statuses = schedules.statuses(Heartbeat.EXPIRY);

        assertThat(statuses).extracting(s -> s.schedule().name()).containsExactly("orphan", "served");
        assertThat(statuses.get(0).liveRunners()).isEmpty();
        assertThat(statuses.get(1).liveRunners()).containsExactly("runner-1");
    }
}
