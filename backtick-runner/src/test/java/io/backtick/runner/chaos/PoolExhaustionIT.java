package io.backtick.runner.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.backtick.runner.testsupport.RunnerProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pool_exhaustion: far more slow jobs than connections. Two runners of 24 threads each (their own
 * pools hold 4 connections) run jobs that each hold one of only 3 plugin connections for 200 ms of
 * {@code pg_sleep}: most worker threads wait for a connection at any moment, while the runners' own
 * loops (claiming, writing outcomes, heartbeats, maintenance) share their 4. Nothing deadlocks:
 * every job completes in bounded time, no runner misses its heartbeat long enough to be judged lost.
 */
class PoolExhaustionIT {

    @TempDir
    Path dir;

    @Test
    void moreSlowJobsThanConnectionsAllCompleteAndNothingDeadlocks() throws Exception {
        int jobs = ChaosRun.scale(240, 1_200);
        try (ChaosRun run = ChaosRun.onSharedServer("pool_exhaustion", dir)) {
            run.withRunnerEnv("CHAOS_POOL", "3");
            List<RunnerProcess> runners = List.of(
                    run.startRunner("pool-1", "--threads", "24"),
                    run.startRunner("pool-2", "--threads", "24"));
            run.enqueue(jobs, 200, true);

            // 6 connections, 200 ms each: the work alone takes jobs / 30 seconds.
            run.awaitAllFinished(jobs, Duration.ofSeconds(60 + jobs / 10));
            ChaosRun.Report report = run.verify(jobs);
            assertThat(report.ranMoreThanOnce()).isZero();
            assertThat(report.rescued()).as("jobs taken from a runner judged lost").isZero();
            assertThat(runners).allMatch(RunnerProcess::isAlive);
            double floor = jobs * 0.2 / 6;
            System.out.printf("chaos pool_exhaustion: %d jobs of 200 ms on 6 connections for 48 threads; the work alone needs %.1f s%n",
                    jobs, floor);
        }
    }
}
