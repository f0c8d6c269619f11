package io.backtick.runner.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.e2e.fixtures.TickPlugin;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.BacktickCli;
import io.backtick.runner.testsupport.PluginJars;
import io.backtick.runner.testsupport.RunnerProcess;
import io.backtick.runner.testsupport.TestDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Four runner processes share a 1-second recurring schedule and a every-second cron for a while:
 * every tick becomes exactly one job, none is missing, and each job runs once. Counted per tick.
 */
class SchedulesAcrossRunnersIT {

    private static final Pattern TICK = Pattern.compile("TICK (\\S+) (\\S+) (\\d+)");
    private static final int RUNNERS = 4;

    @TempDir
    Path plugins;

    @Test
    void everyTickIsOneJobRunOnceWhateverTheNumberOfRunners() throws Exception {
        PluginJars.build(plugins.resolve("ticks.jar"), TickPlugin.class);
        DatabaseSettings server = TestDatabase.server();
        DatabaseSettings settings = server.withSchema(TestDatabase.newSchema(SchedulesAcrossRunnersIT.class));
        BacktickCli cli = BacktickCli.fromSystemProperties()
                .withEnv("BACKTICK_DATABASE_URL", server.jdbcUrl())
                .withEnv("BACKTICK_SCHEMA", settings.schema());
        if (server.user() != null) {
            cli = cli.withEnv("BACKTICK_DATABASE_USER", server.user());
        }
        if (server.password() != null) {
            cli = cli.withEnv("BACKTICK_DATABASE_PASSWORD", server.password());
        }
        List<RunnerProcess> runners = new ArrayList<>();
        try {
            for (int i = 0; i < RUNNERS; i++) {
                runners.add(cli.start("run", "--plugins", plugins.toString(), "--threads", "4",
                        "--poll-interval", "200ms", "--runner-id", "runner-" + i));
            }
            for (RunnerProcess runner : runners) {
                runner.awaitLine("started", Duration.ofSeconds(90));
            }
            // Let the schedules tick for a while: wait for 20 executed ticks of each.
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() ->
                    executions(runners, "every-second").size() >= 20 && executions(runners, "cron-every-second").size() >= 20);
            for (RunnerProcess runner : runners) {
                runner.sigterm();
            }
            for (RunnerProcess runner : runners) {
                assertThat(runner.awaitExit(Duration.ofSeconds(60))).isZero();
            }

            try (QueueDatabase db = QueueDatabase.open(settings, 2, "schedules-it")) {
                for (String schedule : List.of("every-second", "cron-every-second")) {
                    Map<Instant, List<Long>> executed = executions(runners, schedule);
                    Map<Instant, Integer> jobs = new TreeMap<>();
                    db.dsl().fetch("select schedule_tick, count(*) from jobs where schedule_name = ? group by 1", schedule)
                            .forEach(r -> jobs.put(r.get(0, java.time.OffsetDateTime.class).toInstant(),
                                    r.get(1, Integer.class)));
                    System.out.printf("%s: %d ticks with jobs, %d executed, across %d runners%n", schedule, jobs.size(),
                            executed.size(), RUNNERS);

                    assertThat(jobs.values()).as("jobs per tick of %s", schedule).allMatch(n -> n == 1);
                    List<Instant> ticks = new ArrayList<>(jobs.keySet());
                    for (int i = 1; i < ticks.size(); i++) {
                        assertThat(Duration.between(ticks.get(i - 1), ticks.get(i)))
                                .as("gap before tick %s of %s", ticks.get(i), schedule).isEqualTo(Duration.ofSeconds(1));
                    }
                    assertThat(executed).as("executions per tick of %s", schedule)
                            .allSatisfy((tick, ids) -> assertThat(ids).hasSize(1));
                    assertThat(jobs.keySet()).containsAll(executed.keySet());
                    assertThat(executed.size()).isGreaterThanOrEqualTo(20);
                }
            }
        } finally {
            runners.forEach(RunnerProcess::close);
            TestDatabase.dropSchema(settings.schema());
        }
    }

    /** The executions each runner logged for {@code schedule}, by tick: the job ids that ran for it. */
    private static Map<Instant, List<Long>> executions(List<RunnerProcess> runners, String schedule) {
        Map<Instant, List<Long>> byTick = new HashMap<>();
        for (RunnerProcess runner : runners) {
            Matcher m = TICK.matcher(runner.output());
            while (m.find()) {
                if (m.group(1).equals(schedule)) {
                    byTick.computeIfAbsent(Instant.parse(m.group(2)), t -> new ArrayList<>()).add(Long.parseLong(m.group(3)));
                }
            }
        }
        return byTick;
    }
}
