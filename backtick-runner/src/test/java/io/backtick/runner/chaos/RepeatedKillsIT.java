package io.backtick.runner.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.runner.testsupport.RunnerProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * repeated_kills: throughout a run, one runner after another is killed with SIGKILL and started again
 * at once with the same runner id, while it holds running jobs; each round enqueues its own jobs
 * and its kill comes once a third of them have been seen running.
 * The restarted process hands back, as it starts, whatever its dead predecessor held (its fresh
 * heartbeat would otherwise hide those jobs from the rescuer forever). Every job completes; only
 * jobs in flight on a killed process run again.
 */
class RepeatedKillsIT {

    @TempDir
    Path dir;

    @Test
    void runnersKilledAndRestartedAgainAndAgainLoseNoJob() throws Exception {
        int rounds = ChaosRun.scale(3, 10);
        int perRound = 1_500;
        int jobs = rounds * perRound;
        Random random = new Random(4);
        try (ChaosRun run = ChaosRun.onSharedServer("repeated_kills", dir)) {
            List<RunnerProcess> runners = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                runners.add(run.startRunner("kills-" + i, "--threads", "8"));
            }
            long heldByVictims = 0;
            for (int round = 0; round < rounds; round++) {
                // Each round brings its own jobs, so the kill lands mid-run however long the previous restart took.
                run.enqueue(perRound, 10, false);
                // Pacing: the kill comes once a third of this round's jobs have been seen running.
                run.awaitExecutions((long) round * perRound + perRound / 3, Duration.ofSeconds(120));
                int victim = random.nextInt(runners.size());
                String id = "kills-" + victim;
                await(id + " holds running jobs").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10))
                        .until(() -> run.runningOn(id) > 0);
                run.kill(runners.get(victim));
                long held = run.runningOn(id);
                heldByVictims += held;
                runners.set(victim, run.startRunner(id, "--threads", "8"));
                System.out.printf("chaos repeated_kills: round %d killed %s holding %d running jobs, restarted it with the same id%n",
                        round + 1, id, held);
            }

            run.awaitAllFinished(jobs, Duration.ofSeconds(300));
            ChaosRun.Report report = run.verify(jobs);
            // Not always equal: a victim's last write may still commit after it died and we counted.
            assertThat(report.rescued()).as("jobs handed back by restarted runners").isPositive().isLessThanOrEqualTo(heldByVictims);
            assertThat(runners).allMatch(RunnerProcess::isAlive);
        }
    }
}
