package io.backtick.runner.maintenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobRequest;
import io.backtick.api.JobState;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.engine.HeldJobs;
import io.backtick.runner.engine.Runner;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.JobView;
import io.backtick.runner.queue.MaintenanceQueue;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.queue.RunnerRegistry;
import io.backtick.runner.testsupport.QueueSchema;
import io.backtick.runner.testsupport.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Rescue, pruning, turn-taking and cancellation against a real queue. */
class MaintenanceTest {

    @RegisterExtension
    static final QueueSchema schema = new QueueSchema(6);

    static QueueDatabase db;
    static MaintenanceQueue queue;
    static BacktickClient client;

    @BeforeAll
    static void open() {
        db = schema.db();
        queue = db.maintenance();
        client = schema.client();
    }

    @BeforeEach
    void clear() {
        db.dsl().execute("truncate jobs, workers, runners, maintenance");
    }

    /** A job claimed by {@code runner} {@code ago} ago, on attempt {@code attempt} of {@code max}. */
    private static long running(String runner, Duration ago, int attempt, int max) {
        long id = client.enqueue(JobRequest.of("w").withMaxAttempts(max));
        db.dsl().execute("update jobs set state = 'running', runner_id = ?, attempt = ?, "
                + "attempted_at = now() - ? * interval '1 millisecond' where id = ?", runner, attempt, ago.toMillis(), id);
        return id;
    }

    private static Maintenance maintenance(String runnerId) {
        return maintenance(runnerId, new HeldJobs());
    }

    private static Maintenance maintenance(String runnerId, HeldJobs held) {
        return new Maintenance(queue, null, held, new io.backtick.runner.engine.DatabaseHealth(), runnerId,
                Duration.ofDays(7), Duration.ofDays(30));
    }

    /** A runner's maintenance whose clock moves only by {@code step} at each reading of it and as {@code now} is moved. */
    private static Maintenance maintenance(String runnerId, AtomicLong now, Duration step) {
        return new Maintenance(queue, null, new HeldJobs(), new io.backtick.runner.engine.DatabaseHealth(), runnerId,
                Duration.ofDays(7), Duration.ofDays(30), () -> now.addAndGet(step.toNanos()));
    }

    @Test
    void jobsOfALostRunnerGoBackWithALostErrorAndThoseOfALiveOneStay() {
        db.runners().register(new RunnerRegistry.RunnerInfo("alive", "instance-alive", "h", 1, "dev", List.of("w")));
        long lost = running("gone", Duration.ofMinutes(2), 1, 16);
        long lastChance = running("gone", Duration.ofMinutes(2), 3, 3);
        long longButAlive = running("alive", Duration.ofHours(5), 1, 16);
        long justClaimed = running("gone", Duration.ofSeconds(1), 1, 16);

        assertThat(maintenance("me").rescue()).isEqualTo(2);

        JobView rescued = db.jobs().find(lost).orElseThrow();
        assertThat(rescued.state()).isEqualTo(JobState.AVAILABLE);
        assertThat(rescued.errorsJson()).contains("\"kind\": \"lost\"").contains("runner gone stopped heartbeating");
        assertThat(db.jobs().find(lastChance).orElseThrow().state()).isEqualTo(JobState.DISCARDED);
        assertThat(db.jobs().find(longButAlive).orElseThrow().state()).isEqualTo(JobState.RUNNING);
        assertThat(db.jobs().find(justClaimed).orElseThrow().state()).isEqualTo(JobState.RUNNING);
    }

    @Test
    void jobsOfRunnersWhoseRowShowsThemLostAreRescuedEveryRoundAndThoseOfRunnersWithoutARowWhenTheirTurnComes() {
        db.runners().register(new RunnerRegistry.RunnerInfo("silent", "instance-silent", "h", 1, "dev", List.of("w")));
        db.dsl().execute("update runners set heartbeat_at = now() - interval '2 minutes' where id = 'silent'");
        running("silent", Duration.ofMinutes(2), 1, 16);
        running("forgotten", Duration.ofMinutes(2), 1, 16); // its runner left no row
        Maintenance maintenance = maintenance("me");
        assertThat(maintenance.rescue()).isEqualTo(2);

        long silentAgain = running("silent", Duration.ofMinutes(1), 1, 16);
        long forgottenAgain = running("forgotten", Duration.ofMinutes(1), 1, 16);
        // The reading of every running job had its turn a moment ago; the next comes in 10 s.
        assertThat(maintenance.rescue()).isEqualTo(1);
        assertThat(db.jobs().find(silentAgain).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
        assertThat(db.jobs().find(forgottenAgain).orElseThrow().state()).isEqualTo(JobState.RUNNING);

        db.dsl().execute("update maintenance set next_run_at = now() where task = ?", Maintenance.RESCUE_ANYWHERE);
        assertThat(maintenance.rescue()).isEqualTo(1);
        assertThat(db.jobs().find(forgottenAgain).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
    }

    @Test
    void theReadingOfEveryRunningJobComesOnceInAHundredTimesItsLengthWhenThatIsLongerThanTheRound() {
        assertThat(Maintenance.spacedAfter(Duration.ofMillis(3), Duration.ofSeconds(10))).isEqualTo(Duration.ofSeconds(10));
        assertThat(Maintenance.spacedAfter(Duration.ofMillis(254), Duration.ofSeconds(10))).isEqualTo(Duration.ofMillis(25_400));

        assertThat(queue.takeTurn("slow", Duration.ofSeconds(10), "a")).isTrue();
        queue.postpone("slow", Duration.ofHours(1));
        queue.postpone("slow", Duration.ofSeconds(1)); // never earlier than it was
        assertThat(db.dsl().fetchOne("select next_run_at > now() + interval '59 minutes' from maintenance where task = 'slow'")
                .get(0, Boolean.class)).isTrue();
    }

    @Test
    void aRunnerRestartedWithTheSameIdHandsBackWhatItsEarlierProcessHeld() throws InterruptedException {
        // The earlier process was killed; the new one heartbeats under the same id, so the rescuer
        // sees a live runner and would leave these jobs running forever.
        db.runners().register(new RunnerRegistry.RunnerInfo("same", "instance-same", "h", 1, "dev", List.of("w")));
        long held = running("same", Duration.ofSeconds(2), 1, 16);
        long lastChance = running("same", Duration.ofSeconds(2), 2, 2);
        long other = running("other", Duration.ofSeconds(2), 1, 16);
        db.runners().register(new RunnerRegistry.RunnerInfo("other", "instance-other", "h", 2, "dev", List.of("w")));
        assertThat(maintenance("me").rescue()).isZero();

        CountDownLatch ran = new CountDownLatch(1);
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("w", Void.class, (args, job) -> ran.countDown());
        Runner restarted = new Runner(RunnerSettings.defaults("same").withThreads(2)
                .withPollInterval(Duration.ofMillis(50)), db, workers);
        restarted.start();
        try {
            assertThat(ran.await(20, TimeUnit.SECONDS)).isTrue();
            await().atMost(Duration.ofSeconds(20)).until(() -> db.jobs().find(held).orElseThrow().state() == JobState.COMPLETED);
        } finally {
            restarted.stop();
        }
        JobView rerun = db.jobs().find(held).orElseThrow();
        assertThat(rerun.attempt()).isEqualTo(2);
        assertThat(rerun.errorsJson()).contains("\"kind\": \"lost\"").contains("\"attempt\": 1")
                .contains("runner same was restarted while it ran this job");
        JobView discarded = db.jobs().find(lastChance).orElseThrow();
        assertThat(discarded.state()).isEqualTo(JobState.DISCARDED);
        assertThat(discarded.errorsJson()).contains("RunnerRestarted");
        assertThat(db.jobs().find(other).orElseThrow().state()).isEqualTo(JobState.RUNNING);
    }

    @Test
    void aTaskTakesOneTurnPerIntervalWhoeverAsks() {
        assertThat(queue.takeTurn("t", Duration.ofMinutes(1), "a")).isTrue();
        assertThat(queue.takeTurn("t", Duration.ofMinutes(1), "b")).isFalse();
        assertThat(queue.takeTurn("t", Duration.ofMinutes(1), "a")).isFalse();
        assertThat(queue.takeTurn("other", Duration.ofMinutes(1), "b")).isTrue();
    }

    @Test
    void pruningDeletesOnlyFinishedJobsPastTheirRetention() {
        long oldCompleted = finished("completed", Duration.ofDays(8));
        long recentCompleted = finished("completed", Duration.ofDays(6));
        long oldDiscarded = finished("discarded", Duration.ofDays(31));
        long recentDiscarded = finished("discarded", Duration.ofDays(8));
        long oldCancelled = finished("cancelled", Duration.ofDays(31));
        long waiting = client.schedule("w");

        assertThat(maintenance("me").prune()).isEqualTo(3);

        assertThat(db.jobs().find(oldCompleted)).isEmpty();
        assertThat(db.jobs().find(oldDiscarded)).isEmpty();
        assertThat(db.jobs().find(oldCancelled)).isEmpty();
        assertThat(db.jobs().find(recentCompleted)).isPresent();
        assertThat(db.jobs().find(recentDiscarded)).isPresent();
        assertThat(db.jobs().find(waiting)).isPresent();
    }

    @Test
    void pruningWorksInBoundedBatches() {
        db.dsl().execute("insert into jobs (worker, state, finalized_at) select 'w', 'completed', now() - interval '8 days' "
                + "from generate_series(1, 2500)");

        assertThat(queue.prune(List.of("completed"), Duration.ofDays(7), 1_000)).isEqualTo(1_000);
        assertThat(maintenance("me").prune()).isEqualTo(1_500);
    }

    private static long finished(String state, Duration ago) {
        long id = client.schedule("w");
        db.dsl().execute("update jobs set state = ?::job_state, finalized_at = now() - ? * interval '1 millisecond' where id = ?",
                state, ago.toMillis(), id);
        return id;
    }

    @Test
    void aWaitingJobIsCancelledAtOnce() {
        long id = client.scheduleIn(Duration.ofHours(1), "w");

        assertThat(queue.cancel(id)).isEqualTo(MaintenanceQueue.CancelResult.CANCELLED);
        assertThat(queue.cancel(id)).isEqualTo(MaintenanceQueue.CancelResult.ALREADY_FINISHED);
        assertThat(queue.cancel(987_654_321L)).isEqualTo(MaintenanceQueue.CancelResult.NOT_FOUND);
        JobView job = db.jobs().find(id).orElseThrow();
        assertThat(job.state()).isEqualTo(JobState.CANCELLED);
        assertThat(job.finalizedAt()).isNotNull();
    }

    @Test
    void aDiscardedJobIsRetriedAtOnceWithOneMoreAttemptItsErrorsKeptAndEveryRunnerTold() throws Exception {
        long id = client.enqueue(JobRequest.of("w").withMaxAttempts(3));
        db.dsl().execute("update jobs set state = 'discarded', attempt = 3, finalized_at = now(), "
                + "run_at = now() - interval '1 hour', errors = '[{\"attempt\": 3, \"kind\": \"exception\"}]' where id = ?", id);
        try (java.sql.Connection listener = TestDatabase.connect();
             java.sql.Statement listen = listener.createStatement()) {
            listen.execute("listen \"" + io.backtick.runner.engine.Notifier.channel(db.settings().schema()) + "\"");

            assertThat(queue.retry(id)).isEqualTo(new MaintenanceQueue.Retry(MaintenanceQueue.RetryResult.MADE_AVAILABLE, 4, 4, 0));

            JobView job = db.jobs().find(id).orElseThrow();
            assertThat(job.state()).isEqualTo(JobState.AVAILABLE);
            assertThat(job.attempt()).isEqualTo(3);
            assertThat(job.maxAttempts()).isEqualTo(4);
            assertThat(job.finalizedAt()).isNull();
            assertThat(job.errorsJson()).isEqualTo("[{\"kind\": \"exception\", \"attempt\": 3}]");
            assertThat(job.runAt()).as("runs now, not at its old time").isAfter(java.time.Instant.now().minusSeconds(60));
            long micros = java.time.temporal.ChronoUnit.MICROS.between(java.time.Instant.EPOCH, job.runAt());
            assertThat(TestDatabase.notifications(listener, 1)).containsExactly("k 0 " + micros);
        }
        assertThat(queue.retry(id).result()).isEqualTo(MaintenanceQueue.RetryResult.ALREADY_AVAILABLE);
    }

    @Test
    void aCancelledJobRunsAgainWithoutItsOldCancelRequestAndAScheduledOneRunsNow() {
        long cancelled = running("r", Duration.ofSeconds(1), 1, 16);
        db.dsl().execute("update jobs set state = 'cancelled', finalized_at = now(), cancel_requested_at = now() where id = ?", cancelled);
        long scheduled = client.scheduleIn(Duration.ofHours(1), "w");

        assertThat(queue.retry(cancelled)).isEqualTo(new MaintenanceQueue.Retry(MaintenanceQueue.RetryResult.MADE_AVAILABLE, 2, 16, 0));
        assertThat(queue.retry(scheduled)).isEqualTo(new MaintenanceQueue.Retry(MaintenanceQueue.RetryResult.MADE_AVAILABLE, 1, 16, 0));

        assertThat(db.dsl().fetchValue("select cancel_requested_at is null from jobs where id = ?", cancelled)).isEqualTo(true);
        assertThat(db.dsl().fetchValue("select state = 'available' and run_at <= now() from jobs where id = ?", scheduled)).isEqualTo(true);
    }

    @Test
    void retryAllRunsAgainEveryDiscardedJobOfOneWorkerInBatchesAndTellsEveryRunnerOfEach() throws Exception {
        List<Long> discarded = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            discarded.add(client.enqueue(JobRequest.of("mail").withMaxAttempts(3)));
        }
        long otherWorker = client.enqueue(JobRequest.of("sms").withMaxAttempts(3));
        long completed = client.enqueue(JobRequest.of("mail").withMaxAttempts(3));
        long waiting = client.enqueue(JobRequest.of("mail"));
        db.dsl().execute("update jobs set state = 'discarded', attempt = 3, finalized_at = now(), "
                + "run_at = now() - interval '1 hour' where worker in ('mail', 'sms') and id <> ? and id <> ?", completed, waiting);
        db.dsl().execute("update jobs set state = 'completed', attempt = 1, finalized_at = now() where id = ?", completed);
        try (java.sql.Connection listener = TestDatabase.connect();
             java.sql.Statement listen = listener.createStatement()) {
            listen.execute("listen \"" + io.backtick.runner.engine.Notifier.channel(db.settings().schema()) + "\"");

            assertThat(queue.retryAll(JobState.DISCARDED, "mail", 2)).isEqualTo(5);

            assertThat(TestDatabase.notifications(listener, 3)).as("one announcement for each batch of two")
                    .hasSize(3).allSatisfy(n -> assertThat(n).startsWith("k 0 "));
        }
        for (long id : discarded) {
            JobView job = db.jobs().find(id).orElseThrow();
            assertThat(job.state()).isEqualTo(JobState.AVAILABLE);
            assertThat(job.attempt()).isEqualTo(3);
            assertThat(job.maxAttempts()).as("one more attempt").isEqualTo(4);
            assertThat(job.finalizedAt()).isNull();
        }
        assertThat(db.jobs().find(otherWorker).orElseThrow().state()).isEqualTo(JobState.DISCARDED);
        assertThat(db.jobs().find(completed).orElseThrow().state()).isEqualTo(JobState.COMPLETED);
        assertThat(queue.retryAll(JobState.DISCARDED, "mail", 2)).as("none left").isZero();
        assertThat(queue.retryAll(JobState.DISCARDED, null, 1_000)).as("every worker's").isEqualTo(1);
        assertThat(db.jobs().find(otherWorker).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
    }

    @Test
    void cancelAllCancelsEveryWaitingJobOfAWorkerAndAsksTheRunnersOfItsRunningOnesToStop() {
        List<Long> waiting = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            waiting.add(client.enqueue(JobRequest.of("junk")));
        }
        waiting.add(client.enqueue(JobRequest.of("junk").in(Duration.ofHours(1))));
        long retryable = client.enqueue(JobRequest.of("junk"));
        db.dsl().execute("update jobs set state = 'retryable', attempt = 1, run_at = now() + interval '1 minute' where id = ?", retryable);
        waiting.add(retryable);
        long running = running("r1", Duration.ofSeconds(5), 1, 16);
        db.dsl().execute("update jobs set worker = 'junk' where id = ?", running);
        long completed = client.enqueue(JobRequest.of("junk"));
        db.dsl().execute("update jobs set state = 'completed', attempt = 1, finalized_at = now() where id = ?", completed);
        long otherWorker = client.enqueue(JobRequest.of("w"));

        assertThat(queue.cancelAll("junk", 2)).isEqualTo(new MaintenanceQueue.CancelAll(6, 1));

        for (long id : waiting) {
            JobView job = db.jobs().find(id).orElseThrow();
            assertThat(job.state()).isEqualTo(JobState.CANCELLED);
            assertThat(job.finalizedAt()).isNotNull();
        }
        assertThat(db.dsl().fetchValue("select state = 'running' and cancel_requested_at is not null from jobs where id = ?",
                running)).isEqualTo(true);
        assertThat(queue.cancelRequested("r1")).containsExactly(running);
        assertThat(db.jobs().find(completed).orElseThrow().state()).isEqualTo(JobState.COMPLETED);
        assertThat(db.jobs().find(otherWorker).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
        assertThat(queue.cancelAll("junk", 2)).as("nothing left, and the running job asked once")
                .isEqualTo(new MaintenanceQueue.CancelAll(0, 0));
    }

    @Test
    void aFinishedKeyedJobIsNotRetriedWhileAnotherJobHoldsItsKey() {
        long old = client.enqueue(JobRequest.of("w").withKey("k1"));
        db.dsl().execute("update jobs set state = 'discarded', attempt = 16, finalized_at = now() where id = ?", old);
        long holder = client.enqueue(JobRequest.of("w").withKey("k1"));

        assertThat(queue.retry(old)).isEqualTo(new MaintenanceQueue.Retry(MaintenanceQueue.RetryResult.KEY_HELD, 0, 0, holder));
        assertThat(db.jobs().find(old).orElseThrow().state()).isEqualTo(JobState.DISCARDED);
        assertThat(queue.retry(holder).result()).as("the holder itself").isEqualTo(MaintenanceQueue.RetryResult.ALREADY_AVAILABLE);

        db.dsl().execute("update jobs set state = 'completed', attempt = 1, finalized_at = now() where id = ?", holder);
        assertThat(queue.retry(old).result()).as("once the holder has ended").isEqualTo(MaintenanceQueue.RetryResult.MADE_AVAILABLE);
    }

    @Test
    void retryAllMakesOneJobOfEachKeyWaitAgain() {
        long a1 = client.enqueue(JobRequest.of("w").withKey("a"));
        db.dsl().execute("update jobs set state = 'discarded', attempt = 16, finalized_at = now() where id = ?", a1);
        long a2 = client.enqueue(JobRequest.of("w").withKey("a"));
        long b1 = client.enqueue(JobRequest.of("w").withKey("b"));
        db.dsl().execute("update jobs set state = 'discarded', attempt = 16, finalized_at = now() where id in (?, ?)", a2, b1);
        long b2 = client.enqueue(JobRequest.of("w").withKey("b"));
        long plain = client.enqueue(JobRequest.of("w"));
        db.dsl().execute("update jobs set state = 'discarded', attempt = 16, finalized_at = now() where id = ?", plain);

        assertThat(queue.retryAll(JobState.DISCARDED, "w", 1_000)).as("a1 for key a, and the keyless one").isEqualTo(2);

        assertThat(db.jobs().find(a1).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
        assertThat(db.jobs().find(a2).orElseThrow().state()).as("a1 holds its key now").isEqualTo(JobState.DISCARDED);
        assertThat(db.jobs().find(b1).orElseThrow().state()).as("b2 holds its key").isEqualTo(JobState.DISCARDED);
        assertThat(db.jobs().find(b2).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
        assertThat(db.jobs().find(plain).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
    }

    @Test
    void retryAllRefusesRunningAndAvailableJobs() {
        assertThatThrownBy(() -> queue.retryAll(JobState.RUNNING, null, 10))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> queue.retryAll(JobState.AVAILABLE, null, 10))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aRunningJobIsNotRetriedAndAnUnknownOneIsNotFound() {
        long id = running("r", Duration.ofSeconds(1), 1, 3);

        assertThat(queue.retry(id).result()).isEqualTo(MaintenanceQueue.RetryResult.RUNNING);
        assertThat(queue.retry(987_654_321L).result()).isEqualTo(MaintenanceQueue.RetryResult.NOT_FOUND);
        JobView job = db.jobs().find(id).orElseThrow();
        assertThat(job.state()).isEqualTo(JobState.RUNNING);
        assertThat(job.attempt()).isEqualTo(1);
        assertThat(job.maxAttempts()).isEqualTo(3);
    }

    @Test
    void aRunningJobSeesItsCancellationAndIsRecordedCancelledWhenItReturns() throws InterruptedException {
        CountDownLatch started = new CountDownLatch(1);
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("patient", Void.class, (args, job) -> {
            started.countDown();
            await().atMost(Duration.ofSeconds(30)).until(job::stopRequested);
        });
        Runner runner = new Runner(RunnerSettings.defaults("cancel-test").withThreads(2)
                .withPollInterval(Duration.ofMillis(50)), db, workers);
        runner.start();
        try {
            long id = client.schedule("patient");
            assertThat(started.await(20, TimeUnit.SECONDS)).isTrue();

            assertThat(queue.cancel(id)).isEqualTo(MaintenanceQueue.CancelResult.REQUESTED);

            await().atMost(Duration.ofSeconds(20)).until(() -> db.jobs().find(id).orElseThrow().state() == JobState.CANCELLED);
            assertThat(db.jobs().find(id).orElseThrow().finalizedAt()).isNotNull();
        } finally {
            runner.stop();
        }
    }

    @Test
    void jobsWaitingForAWorkerNoLiveRunnerServesAreCounted() {
        db.runners().register(new RunnerRegistry.RunnerInfo("r", "instance-r", "h", 1, "dev", List.of("served")));
        client.schedule("served");
        client.schedule("nobody");
        client.schedule("nobody");

        assertThat(queue.waitingForAbsentWorkers(Duration.ofSeconds(30))).containsExactly(java.util.Map.entry("nobody", 2L));
    }

    @Test
    void whereAutovacuumIsOffTheJobsTableIsAnalyzedAfterABulkInsertAndVacuumedOnceDeadRowsPileUp() {
        db.dsl().execute("alter table jobs set (autovacuum_enabled = false)");
        try {
            db.dsl().execute("insert into jobs (worker) select 'w' from generate_series(1, 20000)");
            await().atMost(Duration.ofSeconds(20)).until(() -> queue.jobsTableHealth().changedSinceAnalyze() >= 20_000);
            assertThat(queue.jobsTableHealth().autovacuum()).isFalse();
            assertThat(maintenance("me").vacuumIfNeglected()).isEqualTo(Maintenance.TableCare.ANALYZED);
            await().atMost(Duration.ofSeconds(20)).until(() -> queue.jobsTableHealth().changedSinceAnalyze() == 0);

            db.dsl().execute("update jobs set priority = 1"); // 20,000 dead rows
            await().atMost(Duration.ofSeconds(20)).until(() -> queue.jobsTableHealth().dead() >= 20_000);
            assertThat(maintenance("me").vacuumIfNeglected()).isEqualTo(Maintenance.TableCare.VACUUMED);

            await().atMost(Duration.ofSeconds(20)).until(() -> queue.jobsTableHealth().dead() == 0);
            assertThat(maintenance("me").vacuumIfNeglected()).as("nothing left to do").isEqualTo(Maintenance.TableCare.NONE);
        } finally {
            db.dsl().execute("alter table jobs reset (autovacuum_enabled)");
        }
    }

    @Test
    void theJobsTableIsAnalyzedOnceATenthOfItHasChangedAndNeverForFewChanges() {
        assertThat(Maintenance.worthAnalyzing(20_000, 20_000)).isTrue();
        assertThat(Maintenance.worthAnalyzing(9_999, 0)).as("too few to matter").isFalse();
        assertThat(Maintenance.worthAnalyzing(19_999, 200_000)).isFalse();
        assertThat(Maintenance.worthAnalyzing(20_000, 200_000)).isTrue();
    }

    @Test
    void whileATransactionLeftOpenHoldsBackCleanupTheJobsTableIsVacuumedOnceNotEveryRound() throws Exception {
        db.dsl().execute("alter table jobs set (autovacuum_enabled = false)");
        Maintenance maintenance = maintenance("me");
        try (java.sql.Connection held = db.dataSource().getConnection()) {
            db.dsl().execute("insert into jobs (worker) select 'w' from generate_series(1, 20000)");
            db.dsl().execute("vacuum (analyze) jobs");
            held.setAutoCommit(false);
            try (java.sql.Statement s = held.createStatement()) {
                s.execute("set transaction isolation level repeatable read");
                s.execute("select txid_current()");
            }
            db.dsl().execute("update jobs set priority = 1"); // 20,000 dead rows the held snapshot still sees
            await().atMost(Duration.ofSeconds(20)).until(() -> queue.jobsTableHealth().dead() >= 20_000);
            assertThat(maintenance.vacuumIfNeglected()).isEqualTo(Maintenance.TableCare.VACUUMED);

            db.dsl().execute("update jobs set priority = 2");
            await().atMost(Duration.ofSeconds(20)).until(() -> queue.jobsTableHealth().dead() >= 40_000);
            assertThat(maintenance.vacuumIfNeglected()).as("the same transaction still holds them")
                    .isNotEqualTo(Maintenance.TableCare.VACUUMED);

            held.rollback();
            // Counted afresh: the statistics of the connection held may reach the server only now,
            // the test's own TRUNCATE among them, which zeroes the table's counts.
            db.dsl().execute("update jobs set priority = 3");
            await().atMost(Duration.ofSeconds(20)).until(() -> queue.jobsTableHealth().dead() >= 20_000);
            assertThat(maintenance.vacuumIfNeglected()).isEqualTo(Maintenance.TableCare.VACUUMED);
            await().atMost(Duration.ofSeconds(20)).until(() -> queue.jobsTableHealth().dead() == 0);
        } finally {
            db.dsl().execute("alter table jobs reset (autovacuum_enabled)");
        }
    }

    @Test
    void aVacuumCleansTheIndexesEvenWhenTheDeadRowsLieOnFewPagesOfALargeTable() {
        db.dsl().execute("alter table jobs set (autovacuum_enabled = false)");
        try {
            // A history of finished jobs, as retention keeps it, and 10,000 dead rows on fewer than 2%
            // of its pages: there PostgreSQL skips the indexes unless the table says otherwise, and
            // the entries of claimed jobs stay at the head of the claim index.
            db.dsl().execute("insert into jobs (worker, state, attempt, finalized_at)"
                    + " select 'w', 'completed', 1, now() from generate_series(1, 1000000)");
            db.dsl().execute("vacuum (analyze) jobs");
            db.dsl().execute("update jobs set priority = 1 where id in (select id from jobs order by id limit 10000)");
            await().atMost(Duration.ofSeconds(20)).until(() -> queue.jobsTableHealth().dead() >= 10_000);

            assertThat(maintenance("me").vacuumIfNeglected()).isEqualTo(Maintenance.TableCare.VACUUMED);

            await().atMost(Duration.ofSeconds(20)).until(() -> queue.jobsTableHealth().dead() == 0);
        } finally {
            db.dsl().execute("alter table jobs reset (autovacuum_enabled)");
        }
    }

    @Test
    void jobsWaitingForAWorkerNoLiveRunnerServesAreLogged() {
        db.runners().register(new RunnerRegistry.RunnerInfo("r", "instance-r", "h", 1, "dev", List.of("served")));
        client.schedule("served");
        client.schedule("nobody's; worker");
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(Maintenance.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged = new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try {
            maintenance("me").reportAbsentWorkers();
        } finally {
            logger.detachAppender(logged);
        }

        assertThat(logged.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                .containsExactly("Jobs wait for workers no live runner serves: nobody's; worker (1)");
    }

    @Test
    void anUnknownClaimsCheckThatTookLongComesNextOnceInAHundredTimesItsLength() {
        // Each reading of this clock is a second after the last: the check takes a second.
        AtomicLong slowClock = new AtomicLong();
        Maintenance slow = maintenance("slow-checker", slowClock, Duration.ofSeconds(1));
        assertThat(slow.handBackUnknownClaimsIfDue()).isZero();
        long slowLost = running("slow-checker", Duration.ofSeconds(60), 1, 16);
        slowClock.addAndGet(Duration.ofSeconds(85).toNanos()); // 87 s after the check began
        assertThat(slow.handBackUnknownClaimsIfDue()).as("not 30 s but 100 s after a check of 1 s").isZero();
        assertThat(db.jobs().find(slowLost).orElseThrow().state()).isEqualTo(JobState.RUNNING);
        slowClock.addAndGet(Duration.ofSeconds(15).toNanos()); // 103 s after
        assertThat(slow.handBackUnknownClaimsIfDue()).isEqualTo(1);

        // A check of a microsecond comes again 30 s later.
        AtomicLong quickClock = new AtomicLong();
        Maintenance quick = maintenance("quick-checker", quickClock, Duration.ofNanos(1_000));
        assertThat(quick.handBackUnknownClaimsIfDue()).isZero();
        long quickLost = running("quick-checker", Duration.ofSeconds(60), 1, 16);
        quickClock.addAndGet(Duration.ofSeconds(29).toNanos());
        assertThat(quick.handBackUnknownClaimsIfDue()).isZero();
        quickClock.addAndGet(Duration.ofSeconds(2).toNanos());
        assertThat(quick.handBackUnknownClaimsIfDue()).isEqualTo(1);
        assertThat(db.jobs().find(quickLost).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
    }

    @Test
    void aReportOfAbsentWorkersThatTookLongPushesBackTheNextTurnOfEveryRunner() {
        String nextRunIn = "select extract(epoch from next_run_at - now()) from maintenance where task = ?";
        db.dsl().execute("update maintenance set next_run_at = now() where task = ?", Maintenance.REPORT_ABSENT_WORKERS);
        maintenance("quick-reporter", new AtomicLong(), Duration.ofNanos(1_000)).reportAbsentWorkersIfDue();
        assertThat(db.dsl().fetchOne(nextRunIn, Maintenance.REPORT_ABSENT_WORKERS).get(0, Double.class))
                .as("a quick report: the next in a minute").isBetween(50.0, 60.0);

        db.dsl().execute("update maintenance set next_run_at = now() where task = ?", Maintenance.REPORT_ABSENT_WORKERS);
        maintenance("slow-reporter", new AtomicLong(), Duration.ofSeconds(2)).reportAbsentWorkersIfDue();
        assertThat(db.dsl().fetchOne(nextRunIn, Maintenance.REPORT_ABSENT_WORKERS).get(0, Double.class))
                .as("a report of 2 s: the next in 200 s").isBetween(190.0, 200.0);
    }

    @Test
    void jobsRunningUnderThisRunnerThatItDoesNotHoldGoBackWithTheirAttemptAfterAWhile() {
        long lost = running("me", Duration.ofSeconds(60), 1, 16);     // its claim's reply never arrived
        long fresh = running("me", Duration.ofSeconds(1), 1, 16);     // claimed a moment ago
        long other = running("someone-else", Duration.ofSeconds(60), 1, 16);

        assertThat(maintenance("me").handBackUnknownClaims()).isEqualTo(1);

        JobView back = db.jobs().find(lost).orElseThrow();
        assertThat(back.state()).isEqualTo(JobState.AVAILABLE);
        assertThat(back.attempt()).as("the attempt never ran").isZero();
        assertThat(db.jobs().find(fresh).orElseThrow().state()).isEqualTo(JobState.RUNNING);
        assertThat(db.jobs().find(other).orElseThrow().state()).isEqualTo(JobState.RUNNING);
    }

    @Test
    void oneRunnerReadsTheDepthForAllAndTheOthersTakeWhatItKept() {
        client.enqueue(JobRequest.of("w"));
        Maintenance first = maintenance("r1", new AtomicLong(), Duration.ZERO);
        Maintenance second = maintenance("r2", new AtomicLong(), Duration.ZERO);
        first.depth();
        second.depth();

        assertThat(first.readDepthIfDue()).isTrue();
        client.enqueue(JobRequest.of("w"));
        assertThat(second.readDepthIfDue()).isTrue();

        assertThat(first.depth().available()).isEqualTo(1);
        assertThat(second.depth()).as("the first runner's reading, not a count of its own").isEqualTo(first.depth());
    }

    @Test
    void depthCountsTheJobsDueAndWaitingAndHowLongTheFirstHasWaited() {
        long oldest = client.enqueue(JobRequest.of("w"));
        long older = client.enqueue(JobRequest.of("w"));
        client.enqueue(JobRequest.of("w"));
        db.dsl().execute("update jobs set run_at = now() - interval '90 seconds' where id = ?", oldest);
        db.dsl().execute("update jobs set run_at = now() - interval '30 seconds' where id = ?", older);
        client.enqueue(JobRequest.of("w").in(Duration.ofHours(1)));
        running("r1", Duration.ofHours(2), 1, 16);

        MaintenanceQueue.Depth depth = queue.depth();

        assertThat(depth.available()).as("neither the scheduled nor the running job waits").isEqualTo(3);
        assertThat(depth.lagSeconds()).isBetween(90.0, 110.0);
    }

    @Test
    void anEmptyQueueHasNoLag() {
        running("r1", Duration.ofHours(2), 1, 16);

        assertThat(queue.depth()).isEqualTo(new MaintenanceQueue.Depth(0, 0.0));
    }

    @Test
    void theDepthIsReadOnlyWhileAskedForAndAtMostEvery15Seconds() {
        client.enqueue(JobRequest.of("w"));
        AtomicLong now = new AtomicLong();
        Maintenance maintenance = maintenance("r1", now, Duration.ZERO);

        assertThat(maintenance.readDepthIfDue()).as("nobody asked").isFalse();
        assertThat(maintenance.depth()).as("no reading yet").isNull();
        assertThat(maintenance.readDepthIfDue()).isTrue();
        assertThat(maintenance.depth()).isEqualTo(new MaintenanceQueue.Depth(1, maintenance.depth().lagSeconds()));
        assertThat(maintenance.readDepthIfDue()).as("read a moment ago").isFalse();

        now.addAndGet(Maintenance.DEPTH_EVERY.toNanos());
        assertThat(maintenance.readDepthIfDue()).isTrue();

        now.addAndGet(Maintenance.DEPTH_WANTED_FOR.toNanos());
        assertThat(maintenance.readDepthIfDue()).as("not asked for five minutes").isFalse();
        maintenance.depth();
        assertThat(maintenance.readDepthIfDue()).isTrue();
    }
}
