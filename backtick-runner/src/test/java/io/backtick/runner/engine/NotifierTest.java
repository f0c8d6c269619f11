package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobState;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.TestDatabase;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A committed job wakes an idle runner at once, long before its next poll. */
class NotifierTest {

    @Test
    void anEnqueuedJobWakesAnIdleRunnerBeforeItsNextPoll() {
        AtomicInteger ran = new AtomicInteger();
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("ping", Void.class, (args, job) -> ran.incrementAndGet());
        try (QueueDatabase db = TestDatabase.newQueue(NotifierTest.class, 4)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            // Polling once an hour: only a notification can get these jobs run within the test.
            Runner runner = new Runner(RunnerSettings.defaults("notify-test").withThreads(2)
                    .withPollInterval(Duration.ofHours(1)), db, workers);
            runner.start();
            try {
                // The listener may not be up the instant start() returns: enqueue until one job runs.
                await().atMost(Duration.ofSeconds(20)).until(() -> {
                    client.schedule("ping");
                    return ran.get() > 0;
                });
                long sentBefore = db.jobs().countByState().values().stream().mapToLong(Long::longValue).sum();
                await().atMost(Duration.ofSeconds(20)).until(() ->
                        db.jobs().countByState().getOrDefault(JobState.COMPLETED, 0L) == sentBefore);
                int ranBefore = ran.get();

                // Now listening for sure: a single job must be woken for and run within seconds.
                client.schedule("ping");
                await().atMost(Duration.ofSeconds(10)).until(() ->
                        db.jobs().countByState().getOrDefault(JobState.COMPLETED, 0L) == sentBefore + 1);
                assertThat(ran.get()).isEqualTo(ranBefore + 1);
            } finally {
                runner.stop();
                TestDatabase.dropSchema(db.settings().schema());
            }
        }
    }
}
