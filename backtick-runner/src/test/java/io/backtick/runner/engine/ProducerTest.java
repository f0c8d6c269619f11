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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** How many jobs a runner holds follows how fast it finishes them. */
class ProducerTest {

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
}
