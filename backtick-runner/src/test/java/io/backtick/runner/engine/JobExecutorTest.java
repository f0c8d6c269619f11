package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobState;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.ClaimedJob;
import io.backtick.runner.queue.JobView;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Jobs claimed ahead of the threads wait in the executor; on stop they go back to the queue unstarted. */
class JobExecutorTest {

    @AfterAll
    static void dropSchemas() {
        TestDatabase.dropSchemasOf(JobExecutorTest.class);
    }


    @Test
    void jobsClaimedAheadGoBackUnstartedWithTheirAttemptWhenTheRunnerStops() throws Exception {
        List<Long> started = new CopyOnWriteArrayList<>();
        CountDownLatch finishFirst = new CountDownLatch(1);
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("hold", Void.class, (args, job) -> {
            started.add(job.jobId());
            finishFirst.await(30, TimeUnit.SECONDS);
        });
        try (QueueDatabase db = TestDatabase.newQueue(JobExecutorTest.class, 4)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            long first = client.schedule("hold");
            long second = client.schedule("hold");
            long third = client.schedule("hold");
            List<ClaimedJob> claimed = db.jobs().claim("executor-test", new String[] {"hold"}, 3);
            assertThat(claimed).extracting(ClaimedJob::id).containsExactly(first, second, third);

            DatabaseHealth health = new DatabaseHealth();
            Completer completer = new Completer(db.jobs(), health, Duration.ofSeconds(10));
            JobExecutor executor = new JobExecutor(workers, completer, new Backoff(Duration.ofSeconds(10)), null, 1,
                    Clock.systemUTC(), new RunnerMetrics(new SimpleMeterRegistry()));
            CountDownLatch ended = new CountDownLatch(3);
            completer.start();
            executor.start();
            claimed.forEach(job -> executor.execute(job, ended::countDown));
            await().atMost(Duration.ofSeconds(10)).until(() -> started.contains(first));

            Thread stopper = new Thread(() -> executor.stop(Duration.ofSeconds(30)));
            stopper.start();
            // The two that never had a thread are back at once, while the first still runs in its grace.
            await().atMost(Duration.ofSeconds(10)).until(() -> state(db, second) == JobState.AVAILABLE
                    && state(db, third) == JobState.AVAILABLE);
            assertThat(state(db, first)).isEqualTo(JobState.RUNNING);
            assertThat(db.jobs().find(second).orElseThrow().attempt()).as("attempt given back").isZero();
            assertThat(db.jobs().find(third).orElseThrow().attempt()).as("attempt given back").isZero();

            finishFirst.countDown();
            stopper.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(stopper.isAlive()).isFalse();
            completer.stop();
            assertThat(ended.await(0, TimeUnit.SECONDS)).as("every attempt reported its end").isTrue();
            assertThat(started).containsExactly(first);
            JobView done = db.jobs().find(first).orElseThrow();
            assertThat(done.state()).isEqualTo(JobState.COMPLETED);
            assertThat(done.attempt()).isEqualTo(1);
        }
    }

    private static JobState state(QueueDatabase db, long id) {
        return db.jobs().find(id).orElseThrow().state();
    }
}
