package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobRequest;
import io.backtick.api.JobState;
import io.backtick.api.WorkerOptions;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.JobView;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.QueueSchema;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Jobs scheduled for a moment, and retries, are made available when they fall due, not at the
 * stager's next poll. Every runner here polls once an hour, so a job that runs within the test
 * was staged by one of the ways a round is asked for at a job's time: the next due job each round
 * reads, an enqueue's notification, the completer's word of a retry it wrote, and the
 * announcement of that retry to the other runners.
 */
class ScheduledStartTest {

    @RegisterExtension
    static final QueueSchema schema = new QueueSchema(4);

    static QueueDatabase db;
    static BacktickClient client;

    /** Jobs of the worker "fails-once" that have failed their first attempt. */
    final Set<Long> failedOnce = ConcurrentHashMap.newKeySet();
    Runner runner;

    @BeforeAll
    static void open() {
        db = schema.db();
        client = schema.client();
    }

    @BeforeEach
    void empty() {
        db.dsl().execute("truncate jobs, workers");
    }

    @AfterEach
    void stop() {
        if (runner != null) {
            runner.stop();
        }
    }

    /** Released to let the first attempts of "fails-once" fail; open unless a test closes it. */
    volatile CountDownLatch firstAttemptsFail = new CountDownLatch(0);

    private void startRunner() {
        runner = runner("scheduled-start-test", db, Duration.ofMillis(300));
        runner.start();
    }

    private Runner runner(String id, QueueDatabase database, Duration retryBase) {
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test")
                .define("noop", Void.class, (args, job) -> { })
                .define("fails-once", Void.class, WorkerOptions.defaults().withMaxAttempts(2), (args, job) -> {
                    if (failedOnce.add(job.jobId())) {
                        firstAttemptsFail.await(20, TimeUnit.SECONDS);
                        throw new IllegalStateException("first attempt fails");
                    }
                });
        return new Runner(RunnerSettings.defaults(id)
                .withThreads(2)
                .withPollInterval(Duration.ofHours(1))
                .withRetryBase(retryBase), database, workers);
    }

    private static JobView awaitCompleted(long id) {
        await().atMost(Duration.ofSeconds(20)).until(() -> db.jobs().find(id).orElseThrow().state() == JobState.COMPLETED);
        return db.jobs().find(id).orElseThrow();
    }

    /** The job's run_at, which the database set from its own clock. */
    private static java.time.OffsetDateTime runAt(long id) {
        return db.dsl().fetchOne("select run_at from jobs where id = ?", id).get(0, java.time.OffsetDateTime.class);
    }

    @Test
    void jobsScheduledBeforeTheRunnerStartedRunEachAtItsTime() {
        // No notification reaches a runner that is not yet listening: each round's reading of the
        // next due job must bring the round that stages it.
        List<Long> ids = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            ids.add(client.enqueue(JobRequest.of("noop").in(Duration.ofMillis(400L * i))));
        }
        startRunner();

        for (long id : ids) {
            JobView job = awaitCompleted(id);
            assertThat(job.attemptedAt()).as("job %d started no earlier than it was due", id)
                    .isAfterOrEqualTo(runAt(id).toInstant());
        }
    }

    @Test
    void aJobScheduledWhileTheRunnerWaitsRunsAtItsTime() {
        startRunner();
        // Its notifier has sent LISTEN on its connection (the last statement a session ran shows).
        await().atMost(Duration.ofSeconds(20)).until(() -> db.dsl().fetchOne("""
                select count(*) from pg_stat_activity
                where application_name = 'backtick-notifier' and state = 'idle' and query like 'listen %'
                """).get(0, Integer.class) > 0);

        // The stager's last round found nothing waiting: only the enqueue's notification tells it of this job.
        long id = client.enqueue(JobRequest.of("noop").in(Duration.ofMillis(500)));

        JobView job = awaitCompleted(id);
        assertThat(job.attemptedAt()).isAfterOrEqualTo(runAt(id).toInstant());
    }

    @Test
    void aRetryRunsWhenItsBackoffEndsNotAtTheNextPoll() {
        startRunner();
        long id = client.schedule("fails-once");

        JobView job = awaitCompleted(id);

        assertThat(job.attempt()).isEqualTo(2);
        assertThat(failedOnce).contains(id);
    }

    @Test
    void aRetryWrittenByARunnerThatStopsRunsOnTimeOnAnother() {
        firstAttemptsFail = new CountDownLatch(1);
        try (QueueDatabase otherDb = QueueDatabase.open(db.settings(), 4, "scheduled-start-other")) {
            // The retry falls due 2-4 s after the failure: long after the runner that wrote it has stopped.
            Runner a = runner("runner-a", db, Duration.ofSeconds(2));
            Runner b = runner("runner-b", otherDb, Duration.ofSeconds(2));
            runner = a;
            a.start();
            b.start();
            try {
                long id = client.schedule("fails-once");
                await().atMost(Duration.ofSeconds(20)).until(() -> db.jobs().find(id).orElseThrow().state() == JobState.RUNNING);
                String holder = db.jobs().find(id).orElseThrow().runnerId();
                Runner stopping = holder.equals("runner-a") ? a : b;
                Runner staying = stopping == a ? b : a;
                // Both stagers round when a scheduled job falls due; after this one ran, each has
                // read that nothing else waits, and polls again only in an hour.
                awaitCompleted(client.enqueue(JobRequest.of("noop").in(Duration.ofMillis(300))));

                firstAttemptsFail.countDown();
                await().atMost(Duration.ofSeconds(20)).until(() -> db.jobs().find(id).orElseThrow().state() == JobState.RETRYABLE);
                stopping.stop();

                JobView job = awaitCompleted(id);
                assertThat(job.attempt()).isEqualTo(2);
                assertThat(job.runnerId()).as("the retry ran on the runner that stayed").isEqualTo(staying.runnerId());
                assertThat(job.attemptedAt()).isAfterOrEqualTo(job.runAt());
            } finally {
                a.stop();
                b.stop();
            }
        }
    }
}
