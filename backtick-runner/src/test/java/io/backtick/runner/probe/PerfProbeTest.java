package io.backtick.runner.probe;

import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobRequest;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.engine.Runner;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PerfProbeTest {
    static long[] stat() {
        try {
            String[] f = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat")).split(" ");
            return new long[] {Long.parseLong(f[13]), Long.parseLong(f[14])};
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void burnDown() {
        int jobs = Integer.getInteger("probe.jobs", 100_000);
        int rounds = Integer.getInteger("probe.rounds", 3);
        int threads = Integer.getInteger("probe.threads", 16);
        var settings = TestDatabase.newQueueSettings(PerfProbeTest.class);
        AtomicLong ran = new AtomicLong();
        try (QueueDatabase db = QueueDatabase.open(settings, 8, "probe")) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(settings.schema());
            WorkerRegistry workers = new WorkerRegistry();
            workers.declaringFor("probe").define("noop", Integer.class, (n, job) -> ran.incrementAndGet());
            Runner runner = new Runner(RunnerSettings.defaults("probe").withThreads(threads)
                    .withPollInterval(Duration.ofMillis(1000)), db, workers);
            runner.start();
            for (int round = 0; round < rounds; round++) {
                long before = ran.get();
                List<JobRequest> requests = new ArrayList<>(jobs);
                for (int i = 0; i < jobs; i++) requests.add(JobRequest.of("noop", i));
                long[] st0 = stat();
                long cpu0 = ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos();
                long t0 = System.nanoTime();
                client.enqueueAll(requests);
                await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(10)).until(() -> ran.get() - before >= jobs);
                await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(10)).until(() -> runner.pendingOutcomes() == 0);
                long t1 = System.nanoTime();
                long cpu1 = ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos();
                long[] st1 = stat();
                System.out.printf("PROBE user %.1f us/job, sys %.1f us/job%n", (st1[0] - st0[0]) * 1e4 / jobs, (st1[1] - st0[1]) * 1e4 / jobs);
                System.out.printf("PROBE round %d: %d jobs enqueued+ran in %.2fs = %.0f jobs/s; jvm cpu %.1f us/job%n", round, jobs,
                        (t1 - t0) / 1e9, jobs / ((t1 - t0) / 1e9), (cpu1 - cpu0) / 1e3 / jobs);
            }
            runner.stop();
        } finally {
            TestDatabase.dropSchema(settings.schema());
        }
    }
}
