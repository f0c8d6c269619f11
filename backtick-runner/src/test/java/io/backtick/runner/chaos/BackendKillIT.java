package io.backtick.runner.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.backtick.runner.testsupport.RunnerProcess;
import io.backtick.runner.testsupport.ThrowawayPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * backend_kill: mid-run, {@code pg_terminate_backend} on every connection the runners hold (their
 * pools and their LISTEN connections), on the test's own cluster so no other test's connection is
 * touched. The runners notice, reconnect and go on; nothing is lost and no job runs twice.
 */
class BackendKillIT {

    @TempDir
    Path dir;

    @Test
    void runnersWhoseConnectionsAreAllTerminatedReconnectAndLoseNothing() throws Exception {
        assumeTrue(ThrowawayPostgres.available(), "no PostgreSQL binaries in " + ThrowawayPostgres.BIN);
        int rounds = ChaosRun.scale(2, 6);
        int jobs = ChaosRun.scale(1_500, 12_000);
        try (ThrowawayPostgres postgres = ThrowawayPostgres.start("max_connections=100");
             ChaosRun run = ChaosRun.on(postgres, "backend_kill", dir)) {
            List<RunnerProcess> runners = run.startRunners(2, "terminated", "--threads", "8");
            run.enqueue(jobs, 10, false);

            long terminated = 0;
            for (int i = 1; i <= rounds; i++) {
                run.awaitExecutions((long) jobs * i / (rounds + 2), Duration.ofSeconds(120));
                long n = run.count("select count(pg_terminate_backend(pid)) from pg_stat_activity"
                        + " where application_name like 'backtick-%' and pid <> pg_backend_pid()");
                terminated += n;
                System.out.printf("chaos backend_kill: round %d terminated %d runner connections at %d executions%n",
                        i, n, run.executions());
                assertThat(n).as("runner connections terminated").isGreaterThanOrEqualTo(runners.size());
            }
            assertThat(run.completed()).as("terminated mid-run").isLessThan(jobs);

            run.awaitAllFinished(jobs, Duration.ofSeconds(300));
            ChaosRun.Report report = run.verify(jobs);
            System.out.printf("chaos backend_kill: %d connections terminated in all%n", terminated);
            assertThat(report.ranMoreThanOnce()).as("jobs run more than once").isZero();
            assertThat(runners).allMatch(RunnerProcess::isAlive);
            // One "back" line for each "lost" line, each outage logged once (not once per failed call).
            for (RunnerProcess runner : runners) {
                await("runner pid " + runner.pid() + " sees the database back").atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                        assertThat(ChaosRun.lines(runner.output(), "Database is back"))
                                .isEqualTo(ChaosRun.lines(runner.output(), "Lost the database")));
                assertThat(ChaosRun.lines(runner.output(), "Lost the database")).isBetween(1, rounds);
                assertThat(runner.output()).as("output of runner pid %d", runner.pid()).doesNotContain("\tat ");
            }
        }
    }
}
