package io.backtick.runner.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.backtick.runner.testsupport.RunnerProcess;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sigterm_drain: SIGTERM reaches a runner whose threads are all busy, half with jobs that finish
 * within the shutdown grace and half with jobs that do not. The short ones finish; the long ones are
 * interrupted at the end of the grace and handed back without spending an attempt; the runner exits
 * 0. A second runner then runs what was handed back. Nothing is lost and no job carries a failed attempt.
 */
class SigtermDrainIT {

    @TempDir
    Path dir;

    @Test
    void sigtermLetsShortJobsFinishAndHandsBackLongOnesWithoutSpendingAnAttempt() throws Exception {
        int threads = ChaosRun.scale(8, 32);
        int quick = threads / 2;
        int slow = threads - quick;
        try (ChaosRun run = ChaosRun.onSharedServer("sigterm_drain", dir)) {
            RunnerProcess first = run.startRunner("drain-1", "--threads", String.valueOf(threads), "--shutdown-grace", "3s");
            run.enqueue(quick, 1_000, false);
            run.enqueue(slow, 8_000, false);
            // Every job is running: each has recorded its execution.
            run.awaitExecutions(threads, Duration.ofSeconds(60));

            run.stopping(first);
            first.sigterm();
            assertThat(first.awaitExit(Duration.ofSeconds(60))).as("exit code after SIGTERM").isZero();
            long completedByFirst = run.completed();
            long handedBack = run.count("select count(*) from " + run.jobsTable() + " where state = 'available'");
            System.out.printf("chaos sigterm_drain: %d jobs finished within the grace, %d handed back%n", completedByFirst, handedBack);
            assertThat(completedByFirst).as("jobs that finished within the grace").isEqualTo(quick);
            assertThat(handedBack).as("jobs handed back at the end of the grace").isEqualTo(slow);

            run.startRunner("drain-2", "--threads", String.valueOf(threads));
            run.awaitAllFinished(threads, Duration.ofSeconds(120));
            ChaosRun.Report report = run.verify(threads);
            assertThat(report.ranMoreThanOnce()).isEqualTo(slow);
            assertThat(run.count("select count(*) from " + run.jobsTable() + " where errors <> '[]' or attempt <> 1"))
                    .as("jobs with a failed attempt, or an attempt spent on the stop").isZero();
            assertThat(run.count("select count(distinct attempt) from " + run.recordTable())).as("attempts seen by workers").isEqualTo(1);
        }
    }
}
