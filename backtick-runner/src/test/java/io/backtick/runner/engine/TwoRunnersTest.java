package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobRequest;
import io.backtick.api.JobState;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Two runners, each with its own pool, on one queue of 10,000 jobs: every job runs exactly once. */
class TwoRunnersTest {

    static final int JOBS = 10_000;

    @Test
    void everyJobRunsExactlyOnce() {
        var settings = TestDatabase.newQueueSettings(TwoRunnersTest.class);
        Map<Long, AtomicInteger> executions = new ConcurrentHashMap<>();
        Map<String, AtomicInteger> perRunner = new ConcurrentHashMap<>();
        try (QueueDatabase a = QueueDatabase.open(settings, 4, "runner-a");
             QueueDatabase b = QueueDatabase.open(settings, 4, "runner-b")) {
            BacktickClient client = BacktickClient.create(a.dataSource()).withSchema(settings.schema());
            List<JobRequest> requests = new ArrayList<>(JOBS);
            for (int i = 0; i < JOBS; i++) {
                requests.add(JobRequest.of("count", i));
            }
            List<Long> ids = client.enqueueAll(requests);
            assertThat(ids).doesNotHaveDuplicates().hasSize(JOBS);

            Runner first = runner("a", a, executions, perRunner);
            Runner second = runner("b", b, executions, perRunner);
            first.start();
            second.start();
            try {
                await().atMost(Duration.ofMinutes(2)).until(() -> a.jobs().countByState()
                        .getOrDefault(JobState.COMPLETED, 0L) == JOBS);
            } finally {
                first.stop();
                second.stop();
            }

            assertThat(executions).hasSize(JOBS).containsOnlyKeys(ids);
            assertThat(executions.values()).allSatisfy(count -> assertThat(count).hasValue(1));
            assertThat(perRunner.get("a").get() + perRunner.get("b").get()).isEqualTo(JOBS);
            assertThat(perRunner.get("a")).as("runner a took a share").hasPositiveValue();
            assertThat(perRunner.get("b")).as("runner b took a share").hasPositiveValue();
            assertThat(a.jobs().countByState()).containsOnlyKeys(JobState.COMPLETED);
        } finally {
            TestDatabase.dropSchema(settings.schema());
        }
    }

    private static Runner runner(String name, QueueDatabase db, Map<Long, AtomicInteger> executions,
                                 Map<String, AtomicInteger> perRunner) {
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("count", Integer.class, (n, job) -> {
            executions.computeIfAbsent(job.jobId(), k -> new AtomicInteger()).incrementAndGet();
            perRunner.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
        });
        return new Runner(RunnerSettings.defaults(name).withThreads(8).withPollInterval(Duration.ofMillis(100)), db, workers);
    }
}
