package io.backtick.runner.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.runner.testsupport.RunnerProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * crash_recovery: three runner processes share the jobs; one is killed with SIGKILL mid-run while it
 * holds running jobs. The other two finish the rest, and once the dead runner's lease expires the
 * rescuer puts back what it held. Every job completes; only jobs in flight on the killed runner run twice.
 */
class CrashRecoveryIT {

    @TempDir
    Path dir;

    @Test
    void aRunnerKilledMidRunLosesNoJobAndOnlyItsJobsRunTwice() throws Exception {
        int jobs = ChaosRun.scale(3_000, 20_000);
        try (ChaosRun run = ChaosRun.onSharedServer("crash_recovery", dir)) {
            List<RunnerProcess> runners = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                runners.add(run.startRunner("crash-" + i, "--threads", "8"));
            }
            run.enqueue(jobs, 5, false);

            run.awaitExecutions(jobs / 3, Duration.ofSeconds(120));
            await("the victim holds running jobs").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10))
                    .until(() -> run.runningOn("crash-1") > 0);
            run.kill(runners.get(1));
            long heldWhenKilled = run.runningOn("crash-1");
            long completedWhenKilled = run.completed();

            run.awaitAllFinished(jobs, Duration.ofSeconds(300));
            ChaosRun.Report report = run.verify(jobs);
            System.out.printf("chaos crash_recovery: the killed runner held %d running jobs; %d jobs were completed when it died%n",
                    heldWhenKilled, completedWhenKilled);
            assertThat(completedWhenKilled).as("killed mid-run").isLessThan(jobs);
            assertThat(report.rescued()).as("jobs put back by the rescuer").isPositive();
            assertThat(runners.get(0).isAlive()).isTrue();
            assertThat(runners.get(2).isAlive()).isTrue();
        }
    }
}
