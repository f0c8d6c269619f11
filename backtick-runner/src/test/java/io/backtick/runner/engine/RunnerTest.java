package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobRequest;
import io.backtick.api.JobState;
import io.backtick.api.Json;
import io.backtick.api.WorkerOptions;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.JobView;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.QueueSchema;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A runner in this JVM against a real queue: what happens to jobs that succeed, fail, and are cut short. */
class RunnerTest {

    record Sum(long x, long y) {
    }

    @RegisterExtension
    static final QueueSchema schema = new QueueSchema(4);

    static QueueDatabase db;
    static BacktickClient client;

    final Map<Long, AtomicInteger> runs = new ConcurrentHashMap<>();
    final Map<Long, Long> sums = new ConcurrentHashMap<>();
    final CountDownLatch slowStarted = new CountDownLatch(1);
    final CountDownLatch releaseSlow = new CountDownLatch(1);
    Runner runner;

    @BeforeAll
    static void open() {
        db = schema.db();
        client = schema.client();
    }

    @BeforeEach
    void start() {
        db.dsl().execute("truncate jobs, workers");
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test")
                .define("sum", Sum.class, (sum, job) -> {
                    count(job.jobId());
                    sums.put(job.jobId(), sum.x() + sum.y());
                })
                .define("fails", Json.class, WorkerOptions.defaults().withMaxAttempts(3), (args, job) -> {
                    count(job.jobId());
                    throw new IllegalStateException("attempt " + job.attempt() + " failed");
                })
                .define("overflows", Void.class, (args, job) -> {
                    count(job.jobId());
                    recurse(1);
                })
                .define("allocates-too-much", Void.class, WorkerOptions.defaults().withMaxAttempts(1), (args, job) -> {
                    count(job.jobId());
                    long[] huge = new long[Integer.MAX_VALUE]; // "Requested array size exceeds VM limit"
                    huge[0] = 1;
                })
                .define("echo-length", String.class, (text, job) -> sums.put(job.jobId(), (long) text.length()))
                .define("slow", Void.class, (args, job) -> {
                    count(job.jobId());
                    slowStarted.countDown();
                    releaseSlow.await();
                })
                .define("sleeps-past-timeout", Void.class, WorkerOptions.defaults().withTimeout(Duration.ofMillis(200))
                        .withMaxAttempts(1), (args, job) -> {
                    count(job.jobId());
                    new CountDownLatch(1).await(); // until interrupted
                });
        RunnerSettings settings = RunnerSettings.defaults("runner-test")
                .withThreads(4)
                .withPollInterval(Duration.ofMillis(50))
                .withRetryBase(Duration.ofMillis(10))
                .withShutdownGrace(Duration.ofMillis(200));
        runner = new Runner(settings, db, workers);
        runner.start();
    }

    @AfterEach
    void stop() {
        releaseSlow.countDown();
        runner.stop();
    }

    private void count(long id) {
        runs.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
    }

    private static int recurse(int depth) {
        return recurse(depth + 1) + 1;
    }

    private JobView awaitState(long id, JobState state) {
        await().atMost(Duration.ofSeconds(20)).until(() -> db.jobs().find(id).orElseThrow().state() == state);
        return db.jobs().find(id).orElseThrow();
    }

    @Test
    void aJobThatReturnsIsCompletedWithItsArgumentsBound() {
        long id = client.schedule("sum", 3, 4);

        JobView job = awaitState(id, JobState.COMPLETED);

        assertThat(sums).containsEntry(id, 7L);
        assertThat(job.attempt()).isEqualTo(1);
        assertThat(job.runnerId()).isEqualTo("runner-test");
        assertThat(job.finalizedAt()).isNotNull();
        assertThat(job.errorsJson()).isEqualTo("[]");
    }

    @Test
    void aJobThatThrowsIsRetriedUntilItsAttemptsRunOutThenDiscardedWithEveryErrorKept() {
        long id = client.schedule("fails", "x");

        JobView job = awaitState(id, JobState.DISCARDED);

        assertThat(runs.get(id)).hasValue(3);
        assertThat(job.attempt()).isEqualTo(3);
        assertThat(job.errorsJson())
                .contains("attempt 1 failed", "attempt 2 failed", "attempt 3 failed")
                .contains("java.lang.IllegalStateException")
                .contains("\"stacktrace\"");
    }

    @Test
    void aFailedJobWaitsOutItsBackoffBeforeRunningAgain() {
        long id = client.enqueue(JobRequest.of("fails", "x").withMaxAttempts(2));
        await().atMost(Duration.ofSeconds(10)).until(() -> runs.containsKey(id));

        JobView retried = awaitState(id, JobState.DISCARDED);

        // The second attempt started no earlier than the first retry's backoff (base 10 ms, so 10–20 ms).
        assertThat(retried.attempt()).isEqualTo(2);
        assertThat(retried.attemptedAt()).isAfterOrEqualTo(retried.createdAt().plusMillis(10));
    }

    @Test
    void argumentsThatDoNotBindDiscardTheJobAtOnceWithoutRunningIt() {
        long id = client.schedule("sum", "three", 4);

        JobView job = awaitState(id, JobState.DISCARDED);

        assertThat(runs).doesNotContainKey(id);
        assertThat(job.attempt()).isEqualTo(1);
        assertThat(job.errorsJson()).contains("\"kind\": \"binding\"").contains("three");
    }

    @Test
    void aWorkerThatThrowsAnErrorIsRecordedAndTheRunnerGoesOn() {
        long overflow = client.schedule("overflows");
        JobView failed = awaitState(overflow, JobState.RETRYABLE);
        assertThat(failed.errorsJson()).contains("java.lang.StackOverflowError").contains("\"kind\": \"error\"");

        long next = client.schedule("sum", 1, 1);
        awaitState(next, JobState.COMPLETED);
    }

    @Test
    void anOutOfMemoryErrorIsRecordedAndTheRunnerGoesOn() {
        long id = client.schedule("allocates-too-much");

        JobView job = awaitState(id, JobState.DISCARDED);

        assertThat(job.errorsJson()).contains("java.lang.OutOfMemoryError").contains("\"kind\": \"error\"");
        awaitState(client.schedule("sum", 2, 2), JobState.COMPLETED);
    }

    @Test
    void argumentsOfSeveralMegabytesRunAndAreStoredWhole() {
        String big = "x".repeat(5 * 1024 * 1024);
        long id = client.schedule("echo-length", big);

        awaitState(id, JobState.COMPLETED);

        assertThat(sums).containsEntry(id, (long) big.length());
    }

    @Test
    void aJobPastItsTimeoutIsInterruptedAndRecordedAsATimeout() {
        long id = client.schedule("sleeps-past-timeout");

        JobView job = awaitState(id, JobState.DISCARDED);

        assertThat(job.errorsJson()).contains("\"kind\": \"timeout\"").contains("timed out after 200ms");
    }

    @Test
    void aJobScheduledForLaterRunsNoEarlierThanAsked() {
        Instant asked = Instant.now().plusMillis(700);
        long id = client.scheduleAt(asked, "sum", 1, 2);
        assertThat(db.jobs().find(id).orElseThrow().state()).isEqualTo(JobState.SCHEDULED);

        JobView job = awaitState(id, JobState.COMPLETED);

        assertThat(job.attemptedAt()).isAfterOrEqualTo(asked);
    }

    @Test
    void stoppingHandsAnUnfinishedJobBackWithoutSpendingAnAttempt() throws InterruptedException {
        long id = client.schedule("slow");
        assertThat(slowStarted.await(20, TimeUnit.SECONDS)).isTrue();

        runner.stop(); // the grace period (200 ms) runs out; the job is interrupted and handed back

        JobView job = db.jobs().find(id).orElseThrow();
        assertThat(job.state()).isEqualTo(JobState.AVAILABLE);
        assertThat(job.attempt()).isZero();
        assertThat(job.errorsJson()).isEqualTo("[]");
    }

    @Test
    void stopIsSafeTwiceAndBeforeStart() {
        runner.stop();
        runner.stop();
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("noop", Void.class, (a, j) -> { });
        new Runner(RunnerSettings.defaults("never-started"), db, workers).stop();
        assertThat(List.of(runner.runnerId())).containsExactly("runner-test");
    }
}
