package io.backtick.runner.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobRequest;
import io.backtick.api.JobState;
import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.queue.JobView;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.BacktickCli;
import io.backtick.runner.testsupport.RunnerProcess;
import io.backtick.runner.testsupport.TestDatabase;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped jar, run as a user runs it, against the shared test PostgreSQL: runner processes,
 * the {@code enqueue} command, SIGTERM. Each test has a schema of its own, given to every child
 * process as {@code BACKTICK_SCHEMA}.
 */
class EndToEndIT {

    private static final Duration START = Duration.ofSeconds(30);
    private static final Duration STOP = Duration.ofSeconds(30);
    private static final Duration COMMAND = Duration.ofSeconds(30);
    private static final Pattern ENQUEUED = Pattern.compile("enqueued job (\\d+)");

    private DatabaseSettings settings;
    private BacktickCli cli;

    @BeforeEach
    void freshSchema() {
        DatabaseSettings server = TestDatabase.server();
        settings = server.withSchema(TestDatabase.newSchema(EndToEndIT.class));
        BacktickCli base = BacktickCli.fromSystemProperties()
                .withEnv("BACKTICK_DATABASE_URL", server.jdbcUrl())
                .withEnv("BACKTICK_SCHEMA", settings.schema());
        if (server.user() != null) {
            base = base.withEnv("BACKTICK_DATABASE_USER", server.user());
        }
        if (server.password() != null) {
            base = base.withEnv("BACKTICK_DATABASE_PASSWORD", server.password());
        }
        cli = base;
    }

    @AfterEach
    void dropSchema() {
        TestDatabase.dropSchema(settings.schema());
    }

    @Test
    void aJobEnqueuedFromTheCommandLineRunsInARunnerThatThenStopsOnSigterm() {
        try (RunnerProcess runner = cli.start("run", "--plugins", BacktickCli.examplePlugins().toString())) {
            runner.awaitLine("started", START);

            BacktickCli.Result enqueue = cli.run(COMMAND, "enqueue", "log-sum", "3", "4");

            assertThat(enqueue.exitCode()).as("%s", enqueue).isZero();
            long id = jobIdIn(enqueue.stdout());
            try (QueueDatabase queue = QueueDatabase.open(settings, 1, "end-to-end-it")) {
                await("job " + id + " completed").atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                        assertThat(queue.jobs().find(id)).get().extracting(JobView::state).isEqualTo(JobState.COMPLETED));
            }
            // The runner's own log setup: a line the job logs names the job and its attempt.
            assertThat(runner.output().lines().filter(line -> line.contains("sum 3 + 4 = 7")))
                    .singleElement().asString()
                    .matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  \\[[^\\]]+\\] \\S+ job=" + id
                            + " attempt=1: sum 3 \\+ 4 = 7");

            runner.sigterm();

            assertThat(runner.awaitExit(STOP)).as("exit code after SIGTERM").isZero();
            assertThat(runner.findLine("stopped")).as("a 'stopped' line in:\n%s", runner.output()).isPresent();
        }
    }

    @Test
    void aRunnerWhoseIdAnotherProcessTakesOverExitsWithOneLineThatSaysWhy() throws Exception {
        try (RunnerProcess runner = cli.start("run", "--plugins", BacktickCli.examplePlugins().toString(),
                "--runner-id", "pinned", "--metrics-port", "0")) {
            runner.awaitLine("started", START);
            Matcher port = Pattern.compile("Metrics at http://localhost:(\\d+)/metrics").matcher(runner.output());
            assertThat(port.find()).as("the metrics line in:\n%s", runner.output()).isTrue();
            HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://localhost:" + port.group(1) + "/health")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode() + " " + health.body()).isEqualTo("200 ok\n");

            // As a process started elsewhere with the same id does once it finds this one silent.
            TestDatabase.execute("update " + settings.schema() + ".runners set instance = 'usurper', host = 'elsewhere', "
                    + "pid = 4242 where id = 'pinned'");

            assertThat(runner.awaitExit(STOP)).as("exit code once the id was taken over").isEqualTo(1);
            assertThat(runner.output()).doesNotContain("\tat ");
            assertThat(runner.output().lines().filter(line -> line.startsWith("backtick:")))
                    .singleElement().asString()
                    .isEqualTo("backtick: runner id 'pinned' was taken over by pid 4242 on elsewhere, which found this "
                            + "runner silent or was started with the same id; this runner stops (give each runner its "
                            + "own --runner-id)");
        }
    }

    @Test
    void twoRunnersOnOneQueueShareTheJobsAndRunEachExactlyOnce() {
        String plugins = BacktickCli.examplePlugins().toString();
        // A short poll interval, so both idle runners notice the jobs within moments of each other.
        try (RunnerProcess first = cli.start("run", "--plugins", plugins, "--poll-interval", "100ms", "--runner-id", "runner-a");
             RunnerProcess second = cli.start("run", "--plugins", plugins, "--poll-interval", "100ms", "--runner-id", "runner-b")) {
            first.awaitLine("started", START);
            second.awaitLine("started", START);
            List<JobRequest> requests = IntStream.range(0, 2_000).mapToObj(i -> JobRequest.of("log-sum", i, 1)).toList();
            List<Long> ids = BacktickClient.create(settings.jdbcUrl(), settings.user(), settings.password())
                    .withSchema(settings.schema())
                    .enqueueAll(requests);
            assertThat(ids).hasSize(2_000).doesNotHaveDuplicates();

            try (QueueDatabase queue = QueueDatabase.open(settings, 1, "end-to-end-it")) {
                // Only log-sum jobs: the example plugin's schedules may add jobs of their own.
                await("all 2,000 jobs completed").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
                        .untilAsserted(() -> assertThat(queue.jobs().list(null, "log-sum", 10_000))
                                .extracting(JobView::state)
                                .hasSize(2_000)
                                .containsOnly(JobState.COMPLETED));

                List<JobView> jobs = queue.jobs().list(null, "log-sum", 10_000);
                assertThat(jobs).extracting(JobView::id).containsExactlyInAnyOrderElementsOf(ids);
                assertThat(jobs).allSatisfy(job -> assertThat(job.attempt()).as("attempts of job %d", job.id()).isEqualTo(1));
                Map<String, Long> perRunner = jobs.stream()
                        .collect(Collectors.groupingBy(JobView::runnerId, Collectors.counting()));
                assertThat(perRunner).as("jobs per runner").containsOnlyKeys("runner-a", "runner-b");
                assertThat(perRunner.values()).allSatisfy(n -> assertThat(n).isPositive());
            }

            first.sigterm();
            second.sigterm();
            assertThat(first.awaitExit(STOP)).isZero();
            assertThat(second.awaitExit(STOP)).isZero();
        }
    }

    @Test
    void aPluginDirectoryWithABrokenJarStopsTheRunnerAtOnceWithOneLine(@TempDir Path plugins) throws IOException {
        Files.writeString(plugins.resolve("bad.jar"), "this is not a zip file", StandardCharsets.UTF_8);

        long startNanos = System.nanoTime();
        BacktickCli.Result run = cli.run(Duration.ofSeconds(20), "run", "--plugins", plugins.toString());
        Duration took = Duration.ofNanos(System.nanoTime() - startNanos);

        assertThat(run.exitCode()).as("%s", run).isNotZero();
        // JVM start-up and the jar check only: no waiting on a database or retrying. Generous for a busy 2-core machine.
        assertThat(took).as("time to fail").isLessThan(Duration.ofSeconds(10));
        List<String> errorLines = run.stderr().lines().filter(line -> !line.isBlank()).toList();
        assertThat(errorLines).as("stderr lines").singleElement().satisfies(line -> assertThat(line)
                .contains("bad.jar")
                .contains("not a valid jar"));
        assertThat(run.stderr() + run.stdout()).doesNotContain("\tat ");
    }

    private static long jobIdIn(String stdout) {
        Matcher matcher = ENQUEUED.matcher(stdout);
        assertThat(matcher.find()).as("'enqueued job N' in %s", stdout).isTrue();
        return Long.parseLong(matcher.group(1));
    }
}
