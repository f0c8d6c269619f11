package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobState;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.JobQueue;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.TestDatabase;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** How many jobs a runner holds follows how fast it finishes them. */
class ProducerTest {

    @AfterAll
    static void dropSchemas() {
        TestDatabase.dropSchemasOf(ProducerTest.class);
    }


    @Test
    void theLookaheadCoversTwiceTheTimeAClaimTakesWithinItsBounds() {
        long ms = TimeUnit.MILLISECONDS.toNanos(1);
        assertThat(Producer.lookaheadNanos(0)).isEqualTo(Producer.LOOKAHEAD.toNanos());
        assertThat(Producer.lookaheadNanos(3 * ms)).isEqualTo(Producer.LOOKAHEAD.toNanos());
        assertThat(Producer.lookaheadNanos(80 * ms)).isEqualTo(160 * ms);
        assertThat(Producer.lookaheadNanos(30_000 * ms)).isEqualTo(Producer.LOOKAHEAD_MAX.toNanos());
    }

    @Test
    void theSweeperLooksAtTheHeadEverySecondOrLessOftenWhenItsLooksAreSlow() {
        long ms = TimeUnit.MILLISECONDS.toNanos(1);
        long every = Producer.HEAD_CLAIM_EVERY.toNanos();
        assertThat(Producer.lookSpacing(every, 3 * ms)).isEqualTo(every);
        assertThat(Producer.lookSpacing(every, 200 * ms)).isEqualTo(Producer.SWEEP_SPACING * 200 * ms);
    }

    @Test
    void theNextClaimStartsAfterTheLastJobTakenOrWhereTheClaimBeforeStartedIfThatIsLater() {
        java.time.OffsetDateTime t = java.time.OffsetDateTime.parse("2026-11-29T12:00:00Z");
        JobQueue.ClaimPosition early = new JobQueue.ClaimPosition(0, t, 5);
        JobQueue.ClaimPosition late = new JobQueue.ClaimPosition(0, t.plusSeconds(1), 2);
        JobQueue.ClaimPosition urgent = new JobQueue.ClaimPosition(9, t.plusSeconds(9), 9);
        // A claim that took nothing leaves the point where it was.
        assertThat(Producer.resumeAfter(null, false, late)).isEqualTo(late);
        assertThat(Producer.resumeAfter(null, false, null)).isNull();
        // A full one may have left jobs right after its end.
        assertThat(Producer.resumeAfter(early, true, late)).isEqualTo(early);
        // A short one took everything after where it started: the later point stands.
        assertThat(Producer.resumeAfter(early, false, late)).isEqualTo(late);
        assertThat(Producer.resumeAfter(late, false, early)).isEqualTo(late);
        assertThat(Producer.resumeAfter(urgent, false, early)).isEqualTo(early); // priority 9 comes first
        assertThat(Producer.resumeAfter(early, false, null)).isEqualTo(early);
    }

    @Test
    void aJobThatBecomesAvailableBehindWhereClaimsResumeIsClaimedBeforeTheBacklogEnds() {
        AtomicInteger backlogStarted = new AtomicInteger();
        java.util.concurrent.atomic.AtomicLong urgentStartedAfter = new java.util.concurrent.atomic.AtomicLong(-1);
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("work", Integer.class, (urgent, job) -> {
            if (urgent == 1) {
                urgentStartedAfter.set(backlogStarted.get());
            } else {
                backlogStarted.incrementAndGet();
                Thread.sleep(1); // a job that takes a millisecond, so the backlog lasts seconds
            }
        });
        int backlog = 8_000;
        try (QueueDatabase db = TestDatabase.newQueue(ProducerTest.class, 4)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            java.util.List<io.backtick.api.JobRequest> jobs = new java.util.ArrayList<>();
            for (int i = 0; i < backlog; i++) {
                jobs.add(io.backtick.api.JobRequest.of("work", 0));
            }
            client.enqueueAll(jobs);
            Runner runner = new Runner(RunnerSettings.defaults("resume-test").withThreads(2).withClaimBatch(100),
                    db, workers);
            runner.start();
            try {
                await().atMost(Duration.ofSeconds(10)).until(() -> backlogStarted.get() >= 500);
                // Claims now resume where the last one ended; this job lies before that point.
                client.enqueue(io.backtick.api.JobRequest.of("work", 1).withPriority(10));
                await().atMost(Duration.ofSeconds(30)).until(() -> urgentStartedAfter.get() >= 0);
                // Within about a second (some 2,000 jobs of two threads), not at the backlog's end.
                assertThat(urgentStartedAfter.get()).isLessThan(backlog - 1_000L);
            } finally {
                runner.stop();
            }
        }
    }

    /**
     * A producer wired to a notifier as a runner wires them, but polling and claiming from the head
     * only once an hour, and never taking the head for cheap: within a test, jobs run only when a
     * notification brings them, claimed from where it says.
     */
    private record Listening(Producer producer, Notifier notifier, Completer completer, JobExecutor executor)
            implements AutoCloseable {

        static Listening start(QueueDatabase db, WorkerRegistry workers) {
            return start(db, workers, Duration.ZERO);
        }

        static Listening start(QueueDatabase db, WorkerRegistry workers, Duration cheapHeadClaim) {
            return start(db, workers, cheapHeadClaim, Duration.ofHours(1));
        }

        static Listening start(QueueDatabase db, WorkerRegistry workers, Duration cheapHeadClaim, Duration lookEvery) {
            DatabaseHealth health = new DatabaseHealth();
            RunnerMetrics metrics = new RunnerMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
            Completer completer = new Completer(db.jobs(), health, Duration.ofSeconds(5));
            JobExecutor executor = new JobExecutor(workers, completer, new Backoff(Duration.ofSeconds(10)), null, 2,
                    java.time.Clock.systemUTC(), metrics);
            Producer producer = new Producer(db.jobs(), executor, health, "announce-test", workers.names(), 2, 100,
                    Duration.ofHours(1), new Wakeup(), metrics, () -> 0, new HeldJobs(), lookEvery, cheapHeadClaim);
            Notifier notifier = new Notifier(db.settings(), producer);
            completer.start();
            executor.start();
            producer.start();
            notifier.start();
            return new Listening(producer, notifier, completer, executor);
        }

        @Override
        public void close() {
            notifier.stop();
            producer.stop();
            executor.requestStop();
            executor.stop(Duration.ofSeconds(5));
            completer.stop();
        }
    }

    @Test
    void anEnqueueThatCommitsLateIsClaimedFromWhereItsNotificationSaysItsJobsStart() throws Exception {
        java.util.Set<Integer> ran = java.util.concurrent.ConcurrentHashMap.newKeySet();
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("work", Integer.class, (n, job) -> ran.add(n));
        try (QueueDatabase db = TestDatabase.newQueue(ProducerTest.class, 4);
             Listening listening = Listening.start(db, workers);
             java.sql.Connection late = db.dataSource().getConnection()) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            // The listener may not be up at once: enqueue until one job runs.
            AtomicInteger n = new AtomicInteger(100);
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                client.schedule("work", n.incrementAndGet());
                return !ran.isEmpty();
            });
            late.setAutoCommit(false);
            client.schedule(late, "work", 1); // its run_at is the start of this transaction
            client.schedule("work", 2);
            await().atMost(Duration.ofSeconds(10)).until(() -> ran.contains(2));
            // Claims now start after job 2, and job 1 lies before it in claim order.
            late.commit();
            await().atMost(Duration.ofSeconds(10)).until(() -> ran.contains(1));
        }
    }

    @Test
    void aJobMadeAvailableBehindTheClaimsWithoutANotificationIsFoundOffTheClaimPathWhileTheHeadIsSlow() {
        assertThat(headClaimsWhileJobsBehindTheClaimsAreFound(1)).isZero();
    }

    @Test
    void moreJobsBehindTheClaimsThanASweepReportsAreClaimedFromWhereTheFirstStands() {
        assertThat(headClaimsWhileJobsBehindTheClaimsAreFound(Producer.SWEEP_LIMIT + 50)).isZero();
    }

    /**
     * Makes {@code hidden} jobs available an hour behind where a producer's claims resume, as a
     * rescue does (no notification), to a producer that counts no head as quick to read and looks
     * at it every 200 ms, and waits for all of them to run while other jobs keep coming; returns
     * how many claims started at the head meanwhile.
     */
    private static long headClaimsWhileJobsBehindTheClaimsAreFound(int hidden) {
        java.util.Set<Integer> ran = java.util.concurrent.ConcurrentHashMap.newKeySet();
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("work", Integer.class, (n, job) -> ran.add(n));
        try (QueueDatabase db = TestDatabase.newQueue(ProducerTest.class, 4);
             Listening listening = Listening.start(db, workers, Duration.ZERO, Duration.ofMillis(200))) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            AtomicInteger n = new AtomicInteger(1_000_000);
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                client.schedule("work", n.incrementAndGet());
                return !ran.isEmpty();
            });
            java.util.List<io.backtick.api.JobRequest> later = new java.util.ArrayList<>();
            for (int i = 1; i <= hidden; i++) {
                later.add(io.backtick.api.JobRequest.of("work", i).in(Duration.ofHours(1)));
            }
            client.enqueueAll(later);
            client.schedule("work", 0);
            await().atMost(Duration.ofSeconds(10)).until(() -> ran.contains(0));
            long headClaims = listening.producer().headClaims();
            long sweeps = listening.producer().sweeps();
            db.dsl().execute("update jobs set state = 'available', run_at = now() - interval '1 hour' where state = 'scheduled'");
            // Jobs keep coming, so claims go on (the producer looks at the head while it claims at all).
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                client.schedule("work", n.incrementAndGet());
                return java.util.stream.IntStream.rangeClosed(1, hidden).allMatch(ran::contains);
            });
            assertThat(listening.producer().sweeps()).isGreaterThan(sweeps);
            return listening.producer().headClaims() - headClaims;
        }
    }

    @Test
    void jobsAnotherRunnerStagesBehindTheClaimsAreClaimedFromWhereTheyStartWithoutALookAtTheHead() {
        java.util.Set<Integer> ran = java.util.concurrent.ConcurrentHashMap.newKeySet();
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("work", Integer.class, (n, job) -> ran.add(n));
        // No head is quick to read here, and the producer looks at it once an hour: only the
        // stage's announcement can have these jobs run within the test.
        try (QueueDatabase db = TestDatabase.newQueue(ProducerTest.class, 4);
             Listening listening = Listening.start(db, workers)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            AtomicInteger n = new AtomicInteger(1_000_000);
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                client.schedule("work", n.incrementAndGet());
                return !ran.isEmpty();
            });
            client.enqueueAll(java.util.List.of(
                    io.backtick.api.JobRequest.of("work", 1).in(Duration.ofHours(1)),
                    io.backtick.api.JobRequest.of("work", 2).withPriority(-1).in(Duration.ofHours(1)),
                    io.backtick.api.JobRequest.of("work", 3).in(Duration.ofHours(2))));
            client.schedule("work", 0);
            await().atMost(Duration.ofSeconds(10)).until(() -> ran.contains(0));
            long headClaims = listening.producer().headClaims();
            long sweeps = listening.producer().sweeps();
            // Their time came an hour ago, before where this producer's claims resume; another
            // runner's stager makes them available, so this producer is not told directly.
            db.dsl().execute("update jobs set run_at = run_at - interval '3 hours' where state = 'scheduled'");
            Stager elsewhere = new Stager(db.jobs(), new DatabaseHealth(), Duration.ofHours(1), start -> { });
            assertThat(elsewhere.runOnce()).isEqualTo(3);

            await().atMost(Duration.ofSeconds(10)).until(() -> ran.containsAll(java.util.List.of(1, 2, 3)));
            assertThat(listening.producer().sweeps()).isEqualTo(sweeps);
            assertThat(listening.producer().headClaims()).isEqualTo(headClaims);
        }
    }

    @Test
    void claimsWokenByEnqueuesOnAQueueThatKeepsUpDoNotStartAtTheHead() {
        // Each of the 30 is claimed after where the one before ended, none from the head, whose
        // index entries (every job claimed since the last vacuum) a claim would read again.
        assertThat(headClaimsForJobsEnqueuedOneAtATime(Duration.ZERO, 30)).isZero();
    }

    @Test
    void claimsOnAQueueThatKeepsUpStartAtTheHeadWhileThoseAreCheap() {
        // Any claim from the head here takes less than the hour this producer calls cheap.
        assertThat(headClaimsForJobsEnqueuedOneAtATime(Duration.ofHours(1), 30)).isGreaterThanOrEqualTo(30);
    }

    /**
     * Enqueues {@code jobs} jobs one at a time, each once the one before has run, to a listening
     * producer that calls a claim from the head cheap below {@code cheapHeadClaim}; returns how
     * many claims started at the head meanwhile.
     */
    private static long headClaimsForJobsEnqueuedOneAtATime(Duration cheapHeadClaim, int jobs) {
        AtomicInteger ran = new AtomicInteger();
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("work", Integer.class, (n, job) -> ran.incrementAndGet());
        try (QueueDatabase db = TestDatabase.newQueue(ProducerTest.class, 4);
             Listening listening = Listening.start(db, workers, cheapHeadClaim)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                client.schedule("work", 0);
                return ran.get() > 0;
            });
            long headClaimsBefore = listening.producer().headClaims();
            int ranBefore = ran.get();
            for (int i = 1; i <= jobs; i++) {
                client.schedule("work", i);
                int expected = ranBefore + i;
                await().atMost(Duration.ofSeconds(10)).until(() -> ran.get() >= expected);
            }
            return listening.producer().headClaims() - headClaimsBefore;
        }
    }

    @Test
    void aRunnerBusyWithSlowJobsHoldsNoMoreJobsThanItHasThreads() {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("slow", Void.class, (args, job) -> {
            started.incrementAndGet();
            release.await(30, TimeUnit.SECONDS);
        });
        try (QueueDatabase db = TestDatabase.newQueue(ProducerTest.class, 4)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            for (int i = 0; i < 10; i++) {
                client.schedule("slow");
            }
            Runner runner = new Runner(RunnerSettings.defaults("producer-test").withThreads(3)
                    .withPollInterval(Duration.ofMillis(50)), db, workers);
            runner.start();
            try {
                await().atMost(Duration.ofSeconds(10)).until(() -> started.get() == 3);
                // Many polls pass; the other seven stay available for other runners.
                await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(2)).until(() ->
                        db.jobs().countByState().getOrDefault(JobState.RUNNING, 0L) == 3
                                && db.jobs().countByState().getOrDefault(JobState.AVAILABLE, 0L) == 7);
                release.countDown();
                await().atMost(Duration.ofSeconds(20)).until(() ->
                        db.jobs().countByState().getOrDefault(JobState.COMPLETED, 0L) == 10);
                assertThat(started).hasValue(10);
            } finally {
                release.countDown();
                runner.stop();
            }
        }
    }

    @Test
    void aRunnerClaimsNothingWhileItsCompleterIsFarBehind() {
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("quick", Void.class, (args, job) -> { });
        try (QueueDatabase db = TestDatabase.newQueue(ProducerTest.class, 4)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            for (int i = 0; i < 5; i++) {
                client.schedule("quick");
            }
            DatabaseHealth health = new DatabaseHealth();
            RunnerMetrics metrics = new RunnerMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
            Completer completer = new Completer(db.jobs(), health, Duration.ofSeconds(5));
            JobExecutor executor = new JobExecutor(workers, completer, new Backoff(Duration.ofSeconds(10)), null, 2,
                    java.time.Clock.systemUTC(), metrics);
            java.util.concurrent.atomic.AtomicInteger unwritten = new java.util.concurrent.atomic.AtomicInteger(10_000);
            Producer producer = new Producer(db.jobs(), executor, health, "backpressure-test", workers.names(), 2, 100,
                    Duration.ofMillis(50), new Wakeup(), metrics, unwritten::get, new HeldJobs());
            completer.start();
            executor.start();
            producer.start();
            try {
                await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() ->
                        db.jobs().countByState().getOrDefault(JobState.AVAILABLE, 0L) == 5);
                unwritten.set(0);
                await().atMost(Duration.ofSeconds(20)).until(() ->
                        db.jobs().countByState().getOrDefault(JobState.COMPLETED, 0L) == 5);
            } finally {
                producer.stop();
                executor.stop(Duration.ofSeconds(5));
                completer.stop();
            }
        }
    }

    @Test
    void aRunnerMeetingABacklogOfQuickJobsClaimsInFullBatches() {
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("quick", Void.class, (args, job) -> { });
        try (QueueDatabase db = TestDatabase.newQueue(ProducerTest.class, 4)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            java.util.List<io.backtick.api.JobRequest> backlog = new java.util.ArrayList<>();
            for (int i = 0; i < 6_000; i++) {
                backlog.add(io.backtick.api.JobRequest.of("quick"));
            }
            client.enqueueAll(backlog);
            io.micrometer.core.instrument.simple.SimpleMeterRegistry meters =
                    new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
            Runner runner = new Runner(RunnerSettings.defaults("burst-test").withThreads(2).withClaimBatch(500),
                    db, workers, java.time.Clock.systemUTC(), meters);
            runner.start();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() ->
                        db.jobs().countByState().getOrDefault(JobState.COMPLETED, 0L) == 6_000);
            } finally {
                runner.stop();
            }
            io.micrometer.core.instrument.DistributionSummary claims = meters.get("backtick.claim.jobs").summary();
            // Two threads, yet claims grow to the full batch: the first ones start at the thread count.
            assertThat(claims.max()).isEqualTo(500);
            assertThat(claims.totalAmount()).isEqualTo(6_000);
            // 12 full claims would do; the ramp from two jobs to 500 takes a few more, not hundreds.
            assertThat(claims.count()).isLessThanOrEqualTo(36);
        }
    }

    @Test
    void slowJobsThatEndTogetherEarnNoDeepPrefetch() {
        java.util.concurrent.atomic.AtomicReference<CountDownLatch> wave =
                new java.util.concurrent.atomic.AtomicReference<>(new CountDownLatch(1));
        AtomicInteger started = new AtomicInteger();
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("wave", Void.class, (args, job) -> {
            CountDownLatch mine = wave.get();
            started.incrementAndGet();
            mine.await(30, TimeUnit.SECONDS);
        });
        try (QueueDatabase db = TestDatabase.newQueue(ProducerTest.class, 4)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            for (int i = 0; i < 200; i++) {
                client.schedule("wave");
            }
            Runner runner = new Runner(RunnerSettings.defaults("wave-test").withThreads(4)
                    .withPollInterval(Duration.ofMillis(50)), db, workers);
            runner.start();
            try {
                for (int round = 1; round <= 5; round++) {
                    int expected = 4 * round;
                    await().atMost(Duration.ofSeconds(10)).until(() -> started.get() >= expected);
                    // Four threads busy, four jobs just ended at once: what the runner holds beyond
                    // its threads stays a shallow prefetch (at most 80 jobs/s x 100 ms), never a
                    // claim sized on the burst.
                    await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2)).until(() ->
                            db.jobs().countByState().getOrDefault(JobState.RUNNING, 0L) <= 4 + 8);
                    CountDownLatch ending = wave.getAndSet(new CountDownLatch(1));
                    ending.countDown();
                }
            } finally {
                wave.get().countDown();
                runner.stop();
            }
        }
    }
}
