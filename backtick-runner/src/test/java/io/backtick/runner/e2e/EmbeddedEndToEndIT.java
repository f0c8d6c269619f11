package io.backtick.runner.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.runner.testsupport.BacktickCli;
import io.backtick.runner.testsupport.EmbeddedPostgresProcesses;
import io.backtick.runner.testsupport.RunnerProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first-run experience: no database configured anywhere, so {@code run} starts an embedded
 * PostgreSQL in {@code ./backtick-data}, and {@code enqueue} and {@code jobs} started from the
 * same directory find it. Every child process runs in a temporary directory with no database
 * variables in its environment.
 */
class EmbeddedEndToEndIT {

    /** initdb on a fresh data directory, plus extracting the binaries the first time on this machine. */
    private static final Duration EMBEDDED_START = Duration.ofSeconds(90);
    private static final Duration STOP = Duration.ofSeconds(30);
    private static final Duration COMMAND = Duration.ofSeconds(30);
    private static final String RUNNER_STARTED = "started: ";
    private static final Pattern ENQUEUED = Pattern.compile("enqueued job (\\d+)");

    @TempDir
    Path workDir;

    private BacktickCli cli;

    @BeforeEach
    void cliInTheTempDir() {
        cli = BacktickCli.fromSystemProperties().inDirectory(workDir);
    }

    @AfterEach
    void noPostgresLeftRunning() {
        // The runner stops its PostgreSQL on SIGTERM; if a failed test killed the runner instead,
        // the postmaster outlives it, so stop it here, and fail if it was still there.
        boolean wasRunning = EmbeddedPostgresProcesses.stop(postgresDataDir());
        assertThat(wasRunning).as("an embedded PostgreSQL still running on " + postgresDataDir()).isFalse();
    }

    @Test
    void aRunnerWithNoDatabaseStartsItsOwnThatCommandsInTheSameDirectoryUseAndThatKeepsJobsAcrossRestarts() {
        String plugins = BacktickCli.examplePlugins().toString();
        long id;
        try (RunnerProcess runner = cli.start("run", "--plugins", plugins)) {
            String embeddedLine = runner.awaitLine("started an embedded PostgreSQL", EMBEDDED_START);
            assertThat(embeddedLine).contains(workDir.resolve("backtick-data").toString());
            runner.awaitLine(RUNNER_STARTED, EMBEDDED_START);

            BacktickCli.Result enqueue = cli.run(COMMAND, "enqueue", "log-sum", "3", "4");
            assertThat(enqueue.exitCode()).as("%s", enqueue).isZero();
            id = jobIdIn(enqueue.stdout());

            runner.awaitLine("sum 3 + 4 = 7", Duration.ofSeconds(20));
            // The outcome is written a moment after the job logs, by the completer.
            await("'jobs' shows the job completed").atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                BacktickCli.Result jobs = cli.run(COMMAND, "jobs", "--worker", "log-sum");
                assertThat(jobs.exitCode()).as("%s", jobs).isZero();
                assertThat(jobs.stdout().lines()).anySatisfy(line -> assertThat(line)
                        .startsWith(Long.toString(id) + " ").contains("completed").contains("log-sum"));
            });

            runner.sigterm();
            assertThat(runner.awaitExit(STOP)).as("exit code after SIGTERM").isZero();
            assertThat(runner.findLine("stopped")).as("a 'stopped' line in:\n%s", runner.output()).isPresent();
        }
        assertThat(EmbeddedPostgresProcesses.running(postgresDataDir())).as("PostgreSQL after the runner stopped").isEmpty();

        BacktickCli.Result noRunner = cli.run(COMMAND, "enqueue", "log-sum", "3", "4");
        assertThat(noRunner.exitCode()).as("%s", noRunner).isEqualTo(1);
        List<String> errorLines = noRunner.stderr().lines().filter(line -> !line.isBlank()).toList();
        assertThat(errorLines).as("stderr lines").singleElement().satisfies(line ->
                assertThat(line).contains("no embedded database running"));

        try (RunnerProcess again = cli.start("run", "--plugins", plugins)) {
            again.awaitLine(RUNNER_STARTED, EMBEDDED_START);

            BacktickCli.Result jobs = cli.run(COMMAND, "jobs", "--worker", "log-sum");

            assertThat(jobs.exitCode()).as("%s", jobs).isZero();
            assertThat(jobs.stdout().lines()).anySatisfy(line -> assertThat(line)
                    .startsWith(Long.toString(id) + " ").contains("completed").contains("log-sum"));

            again.sigterm();
            assertThat(again.awaitExit(STOP)).as("exit code after SIGTERM").isZero();
        }
        assertThat(EmbeddedPostgresProcesses.running(postgresDataDir())).as("PostgreSQL after the runner stopped").isEmpty();
    }

    private Path postgresDataDir() {
        return workDir.resolve("backtick-data").resolve("postgres");
    }

    private static long jobIdIn(String stdout) {
        Matcher matcher = ENQUEUED.matcher(stdout);
        assertThat(matcher.find()).as("'enqueued job N' in %s", stdout).isTrue();
        return Long.parseLong(matcher.group(1));
    }
}
