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
 * postgres_restart: the test's own PostgreSQL cluster is restarted ({@code pg_ctl restart -m fast},
 * which closes every connection) while two runners work through the jobs. The runners are not
 * restarted: each logs one line when it loses the database and one when it is back, per restart,
 * and goes on. Outcomes of jobs that finished during the outage are written when it returns, so
 * no job runs twice.
 */
class PostgresRestartIT {

    @TempDir
    Path dir;

    @Test
    void runnersRideOutADatabaseRestartWithoutRestartingOrRunningAJobTwice() throws Exception {
        assumeTrue(ThrowawayPostgres.available(), "no PostgreSQL binaries in " + ThrowawayPostgres.BIN);
        int restarts = ChaosRun.scale(1, 4);
        int jobs = ChaosRun.scale(1_500, 12_000);
        try (ThrowawayPostgres postgres = ThrowawayPostgres.start("max_connections=100");
             ChaosRun run = ChaosRun.on(postgres, "postgres_restart", dir)) {
            List<RunnerProcess> runners = run.startRunners(2, "restart", "--threads", "8");
            List<Long> pids = runners.stream().map(RunnerProcess::pid).toList();
            run.enqueue(jobs, 10, false);

            for (int i = 1; i <= restarts; i++) {
                run.awaitExecutions((long) jobs * i / (restarts + 2), Duration.ofSeconds(120));
                assertThat(run.completed()).as("jobs completed as restart %d begins", i).isLessThan(jobs);
                long before = System.nanoTime();
                postgres.restart();
                System.out.printf("chaos postgres_restart: restart %d took %d ms, at %d executions%n", i,
                        (System.nanoTime() - before) / 1_000_000, run.executions());
                // The next restart only once every runner has said the database is back from this one.
                int restart = i;
                for (RunnerProcess runner : runners) {
                    await("runner pid " + runner.pid() + " sees the database back").atMost(Duration.ofSeconds(60))
                            .until(() -> ChaosRun.lines(runner.output(), "Database is back") >= restart);
                }
            }

            run.awaitAllFinished(jobs, Duration.ofSeconds(300));
            ChaosRun.Report report = run.verify(jobs);
            assertThat(report.ranMoreThanOnce()).as("jobs run more than once").isZero();
            for (RunnerProcess runner : runners) {
                assertThat(runner.isAlive()).isTrue();
                assertThat(ChaosRun.lines(runner.output(), "Lost the database")).as("'lost' lines of runner pid %d", runner.pid())
                        .isEqualTo(restarts);
                assertThat(ChaosRun.lines(runner.output(), "Database is back")).as("'back' lines of runner pid %d", runner.pid())
                        .isEqualTo(restarts);
                assertThat(runner.output()).as("output of runner pid %d", runner.pid()).doesNotContain("\tat ");
            }
            assertThat(runners.stream().map(RunnerProcess::pid).toList()).isEqualTo(pids);
        }
    }
}
