package io.backtick.runner.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.runner.testsupport.RunnerProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * repeated_kills: throughout a run fed with a steady backlog, one runner after another is killed
 * with SIGKILL while it holds running jobs, and started again at once with the same runner id. A
 * kill comes each time 500 more executions have been seen (a few seconds on a busy machine). The
 * restarted process hands back, as it starts, whatever its dead predecessor held: its fresh
 * heartbeat would otherwise hide those jobs from the rescuer forever. Every job completes; only
 * jobs in flight on a killed process run again.
 */
class RepeatedKillsIT {

    private static final int EXECUTIONS_BETWEEN_KILLS = 500;

    @TempDir
    Path dir;

    @Test
    void runnersKilledAndRestartedAgainAndAgainLoseNoJob() throws Exception {
        int rounds = ChaosRun.scale(3, 10);
        Random random = new Random(4);
        try (ChaosRun run = ChaosRun.onSharedServer("repeated_kills", dir)) {
            Map<String, RunnerProcess> runners = new LinkedHashMap<>();
            for (RunnerProcess runner : run.startRunners(3, "kills", "--threads", "8")) {
                runners.put("kills-" + (runners.size() + 1), runner);
            }
            run.startFeeding(300, 10);
            long heldByVictims = 0;
            for (int round = 1; round <= rounds; round++) {
                // Pacing: the next kill once this many more executions have been seen, whatever the machine's speed.
                run.awaitExecutions((long) round * EXECUTIONS_BETWEEN_KILLS, Duration.ofSeconds(120));
                List<String> holding = await("a runner holding running jobs").atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(10)).until(run::runnersHoldingJobs, ids -> !ids.isEmpty());
                String victim = holding.get(random.nextInt(holding.size()));
                run.kill(runners.get(victim));
                long held = run.runningOn(victim);
                heldByVictims += held;
                // Not waiting for it to start: the others go on meanwhile.
                runners.put(victim, run.launch(victim, "--threads", "8"));
                System.out.printf("chaos repeated_kills: round %d killed %s holding %d running jobs, restarted it with the same id%n",
                        round, victim, held);
            }
            long jobs = run.stopFeeding();

            run.awaitAllFinished(jobs, Duration.ofSeconds(300));
            ChaosRun.Report report = run.verify(jobs);
            // Not always equal: a victim's last write may still commit after it died and we counted.
            assertThat(report.rescued()).as("jobs handed back by restarted runners").isPositive().isLessThanOrEqualTo(heldByVictims);
            assertThat(runners.values()).allMatch(RunnerProcess::isAlive);
        }
    }
}
