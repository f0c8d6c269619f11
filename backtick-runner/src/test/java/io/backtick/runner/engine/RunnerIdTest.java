package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobRequest;
import io.backtick.api.JobState;
import io.backtick.runner.config.ConfigException;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.JobView;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.TestDatabase;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One live process per runner id: a runner started with the id of a live one refuses to start and
 * takes none of its jobs; a runner takes over the id of one that stopped beating, and its jobs; a
 * runner whose id another process took over stops beating and says why.
 */
class RunnerIdTest {

    static QueueDatabase first;
    static QueueDatabase second;
    static BacktickClient client;

    final Map<Long, AtomicInteger> runs = new ConcurrentHashMap<>();
    final CountDownLatch holding = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @BeforeAll
    static void open() {
        var settings = TestDatabase.newQueueSettings(RunnerIdTest.class);
        first = QueueDatabase.open(settings, 4, "runner-id-first");
        second = QueueDatabase.open(settings, 4, "runner-id-second");
        client = BacktickClient.create(first.dataSource()).withSchema(settings.schema());
    }

    @AfterAll
    static void close() {
        first.close();
        second.close();
        TestDatabase.dropSchema(first.settings().schema());
    }

    @BeforeEach
    void clear() {
        first.dsl().execute("truncate jobs, workers, runners");
    }

    private Runner runner(String id, QueueDatabase db) {
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("hold", Void.class, (args, job) -> {
            runs.computeIfAbsent(job.jobId(), k -> new AtomicInteger()).incrementAndGet();
            holding.countDown();
            try {
                release.await(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return new Runner(RunnerSettings.defaults(id).withThreads(2).withPollInterval(Duration.ofMillis(100)), db, workers);
    }

    @Test
    void aRunnerStartedWithTheIdOfALiveOneRefusesToStartAndTakesNoneOfItsJobs() throws InterruptedException {
        Runner live = runner("shared", first);
        Runner duplicate = runner("shared", second);
        live.start();
        try {
            long id = client.enqueue(JobRequest.of("hold"));
            assertThat(holding.await(30, TimeUnit.SECONDS)).as("the live runner started the job").isTrue();

            assertThatThrownBy(duplicate::start)
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("runner id 'shared' is in use by a live runner (pid " + ProcessHandle.current().pid()
                            + " on " + Runner.host() + "): give each runner its own --runner-id (BACKTICK_RUNNER_ID), "
                            + "or leave it unset for one of its own");
            duplicate.stop();

            JobView job = first.jobs().find(id).orElseThrow();
            assertThat(job.state()).as("still running on the live runner, not handed back").isEqualTo(JobState.RUNNING);
            assertThat(job.attempt()).isEqualTo(1);
            assertThat(job.errorsJson()).isEqualTo("[]");

            release.countDown();
            await().atMost(Duration.ofSeconds(30)).until(() -> first.jobs().find(id).orElseThrow().state() == JobState.COMPLETED);
            assertThat(first.jobs().find(id).orElseThrow().attempt()).isEqualTo(1);
            assertThat(runs.get(id)).hasValue(1);
            assertThat(live.idTaken()).as("the live runner keeps its id").isNotDone();
        } finally {
            release.countDown();
            live.stop();
        }
    }

    @Test
    void aRunnerTakesOverTheIdOfOneThatStoppedBeatingOnceItHasBeenSilentLongEnoughAndHandsItsJobsBack() {
        // As a process killed 8 s ago on another machine left its row and its running job.
        long silentFor = Heartbeat.TAKEOVER_AFTER.minusSeconds(3).toMillis();
        first.dsl().execute("insert into runners (id, instance, host, pid, version, heartbeat_at) values "
                + "('crashed', 'the-process-that-died', 'elsewhere', 4242, 'dev', now() - ? * interval '1 millisecond')", silentFor);
        long id = client.enqueue(JobRequest.of("hold"));
        first.dsl().execute("update jobs set state = 'running', attempt = 1, attempted_at = now(), runner_id = 'crashed' where id = ?", id);
        var lastBeat = first.dsl().fetchValue("select heartbeat_at from runners where id = 'crashed'");

        Runner restarted = runner("crashed", first);
        release.countDown();
        restarted.start();
        try {
            assertThat(first.dsl().fetchValue("select instance <> 'the-process-that-died' and host <> 'elsewhere' "
                    + "and heartbeat_at >= ?::timestamptz + ? * interval '1 millisecond' from runners where id = 'crashed'",
                    lastBeat, Heartbeat.TAKEOVER_AFTER.toMillis()))
                    .as("taken over, and only once the earlier process had been silent for the takeover time")
                    .isEqualTo(true);
            await().atMost(Duration.ofSeconds(30)).until(() -> first.jobs().find(id).orElseThrow().state() == JobState.COMPLETED);
            JobView job = first.jobs().find(id).orElseThrow();
            assertThat(job.attempt()).as("handed back as the earlier process's lost attempt, then run").isEqualTo(2);
            assertThat(job.errorsJson()).contains("\"class\": \"RunnerRestarted\"").contains("\"attempt\": 1");
        } finally {
            restarted.stop();
        }
    }

    @Test
    void aRunnerWhoseIdAnotherProcessTakesOverStopsBeatingSaysWhyAndLeavesTheRowToIt() {
        Runner runner = runner("taken", first);
        runner.start();
        try {
            first.dsl().execute("update runners set instance = 'usurper', host = 'elsewhere', pid = 4242 where id = 'taken'");

            String why = runner.idTaken().orTimeout(30, TimeUnit.SECONDS).join();
            assertThat(why).isEqualTo("runner id 'taken' was taken over by pid 4242 on elsewhere, which found this runner "
                    + "silent or was started with the same id; this runner stops (give each runner its own --runner-id)");
        } finally {
            runner.stop();
        }
        assertThat(first.dsl().fetchValue("select instance from runners where id = 'taken'"))
                .as("the row stays the other process's").isEqualTo("usurper");
    }
}
