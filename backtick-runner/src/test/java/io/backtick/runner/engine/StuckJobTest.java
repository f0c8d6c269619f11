package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobState;
import io.backtick.api.WorkerOptions;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.JobView;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.TestDatabase;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A job that times out and ignores its interrupt must not pin its runner's only thread. */
class StuckJobTest {

    @Test
    void aTimedOutJobThatIgnoresInterruptionIsRecordedAndItsSlotFreed() throws InterruptedException {
        CountDownLatch letGo = new CountDownLatch(1);
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test")
                .define("stubborn", Void.class, WorkerOptions.defaults().withTimeout(Duration.ofMillis(200)).withMaxAttempts(1),
                        (args, job) -> {
                            while (true) {
                                try {
                                    if (letGo.await(10, TimeUnit.SECONDS)) {
                                        return;
                                    }
                                } catch (InterruptedException ignored) {
                                    // deliberately deaf to interrupts
                                }
                            }
                        })
                .define("quick", Void.class, (args, job) -> { });
        try (QueueDatabase db = TestDatabase.newQueue(StuckJobTest.class, 4)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            Runner runner = new Runner(RunnerSettings.defaults("stuck-test").withThreads(1)
                    .withPollInterval(Duration.ofMillis(50)).withShutdownGrace(Duration.ZERO), db, workers);
            runner.start();
            try {
                long stubborn = client.schedule("stubborn");
                await().atMost(Duration.ofSeconds(30)).until(() -> db.jobs().find(stubborn).orElseThrow().state()
                        == JobState.DISCARDED);
                JobView failed = db.jobs().find(stubborn).orElseThrow();
                assertThat(failed.errorsJson()).contains("\"kind\": \"timeout\"").contains("ignored its interrupt");
                assertThat(runner.lostThreads()).isEqualTo(1);

                // The runner has one thread, held by the stubborn job: another job still runs.
                long quick = client.schedule("quick");
                await().atMost(Duration.ofSeconds(20)).until(() -> db.jobs().find(quick).orElseThrow().state()
                        == JobState.COMPLETED);

                letGo.countDown();
                await().atMost(Duration.ofSeconds(20)).until(() -> runner.lostThreads() == 0);
                assertThat(db.jobs().find(stubborn).orElseThrow().state()).as("its late return changes nothing")
                        .isEqualTo(JobState.DISCARDED);
            } finally {
                letGo.countDown();
                runner.stop();
                TestDatabase.dropSchema(db.settings().schema());
            }
        }
    }
}
