package io.backtick.runner.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.InstanceOfAssertFactories.STRING;

import io.backtick.api.JobState;
import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.queue.JobView;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.queue.WorkerDefaults;
import io.backtick.runner.testsupport.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the {@code backtick} command in-process through {@link Main#run}, with stdout and stderr
 * captured. The database commands run against a migrated schema of this class's own.
 */
class CliTest {

    private static final String PASSWORD = "s3cret-pw";
    private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER = new com.fasterxml.jackson.databind.ObjectMapper();

    static DatabaseSettings settings;

    @TempDir
    static Path files;

    @BeforeAll
    static void migrate() {
        settings = TestDatabase.newQueueSettings(CliTest.class);
    }

    @AfterAll
    static void drop() {
        TestDatabase.dropSchema(settings.schema());
    }

    /** What one run of the command did. */
    record Result(int exit, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }
    }

    static Result run(String... args) {
        PrintStream previousOut = System.out;
        PrintStream previousErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            System.out.flush();
            System.err.flush();
            return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(previousOut);
            System.setErr(previousErr);
        }
    }

    /** {@code enqueue} against the test schema, followed by {@code rest}. */
    private static Result enqueue(String... rest) throws IOException {
        return againstTestSchema(List.of("enqueue"), rest);
    }

    /** {@code command} (one or more words) with the test schema's database options, then {@code rest}. */
    private static Result againstTestSchema(List<String> command, String... rest) throws IOException {
        List<String> args = new ArrayList<>(command);
        args.addAll(databaseArgs(settings, files));
        args.addAll(List.of(rest));
        return run(args.toArray(String[]::new));
    }

    /** The options that point a command at {@code database}: URL, schema, user, and the password in a config file in {@code dir}. */
    static List<String> databaseArgs(DatabaseSettings database, Path dir) throws IOException {
        List<String> args = new ArrayList<>(List.of("--database-url", database.jdbcUrl(), "--schema", database.schema()));
        if (database.user() != null) {
            args.addAll(List.of("--database-user", database.user()));
        }
        if (database.password() != null) {
            // The password is never a flag; the config file is one of the places it may come from.
            Path config = Files.createTempFile(dir, "db", ".properties");
            Files.writeString(config, "database-password=" + database.password() + "\n");
            args.addAll(List.of("--config", config.toString()));
        }
        return args;
    }

    private static long enqueuedId(Result result) {
        assertThat(result.exit()).as(result.err()).isEqualTo(0);
        Matcher printed = Pattern.compile("enqueued job (\\d+)\\R?").matcher(result.out());
        assertThat(printed.matches()).as("stdout: %s", result.out()).isTrue();
        return Long.parseLong(printed.group(1));
    }

    /** The value after {@code label} in the output of {@code jobs show}. */
    private static String shown(Result show, String label) {
        return show.out().lines().filter(l -> l.startsWith(label + ":")).findFirst().orElseThrow()
                .substring(label.length() + 1).stripLeading();
    }

    private static List<JobView> jobsOf(String worker) {
        try (QueueDatabase db = QueueDatabase.open(settings, 1, "cli-test-check")) {
            return db.jobs().list(null, worker, 10);
        }
    }

    @Test
    void unknownSubcommandIsAUsageErrorInOneLineWithAHint() {
        Result result = run("frobnicate");

        assertThat(result.exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(result.errLines()).hasSize(2);
        assertThat(result.errLines().get(0)).startsWith("backtick: ").contains("frobnicate");
        assertThat(result.errLines().get(1)).isEqualTo("Try 'backtick --help' for usage.");
        assertThat(result.err()).doesNotContain("at io.");
        assertThat(result.out()).isEmpty();
    }

    @Test
    void enqueueWithMalformedJsonArgumentFailsAndEnqueuesNothing() throws IOException {
        Result result = enqueue("cli-bad-json", "3", "{oops");

        assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(result.errLines()).singleElement(STRING)
                .startsWith("backtick: argument 2 is not valid JSON");
        assertThat(result.out()).isEmpty();
        assertThat(jobsOf("cli-bad-json")).isEmpty();
    }

    @Test
    void enqueueWithMalformedFirstArgumentNamesArgumentOne() throws IOException {
        Result result = enqueue("cli-bad-json-1", "hello");

        assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(result.err()).contains("argument 1 is not valid JSON").contains("'\"hello\"'");
        assertThat(jobsOf("cli-bad-json-1")).isEmpty();
    }

    @Test
    void enqueueAtATimeInThePastIsRefused() throws IOException {
        Result result = enqueue("--at", "2001-01-01T00:00:00Z", "cli-past", "1");

        assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(result.errLines()).singleElement(STRING)
                .startsWith("backtick: ").contains("in the past");
        assertThat(jobsOf("cli-past")).isEmpty();
    }

    @Test
    void enqueueAtSomethingThatIsNotATimeIsRefused() throws IOException {
        Result result = enqueue("--at", "garbage", "cli-garbage-time", "1");

        assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(result.errLines()).singleElement(STRING)
                .startsWith("backtick: ").contains("'garbage' is not a time");
        assertThat(jobsOf("cli-garbage-time")).isEmpty();
    }

    @Test
    void enqueuePrintsTheIdOfTheJobItStored() throws IOException {
        long id = enqueuedId(enqueue("cli-sum", "3", "4"));

        try (QueueDatabase db = QueueDatabase.open(settings, 1, "cli-test-check")) {
            JobView job = db.jobs().find(id).orElseThrow();
            assertThat(job.worker()).isEqualTo("cli-sum");
            assertThat(job.argsJson()).isEqualTo("[3, 4]");
            assertThat(job.state()).isEqualTo(JobState.AVAILABLE);
        }
    }

    @Test
    void namesAndArgumentsWithSqlAndShellCharactersAreStoredAndShownVerbatim() throws IOException {
        String worker = "evil'; drop table jobs; -- $(rm -rf /) `id` \"q\" |&;<>*?\\";
        String text = "'); delete from jobs where ('1'='1 $HOME `reboot` && rm -rf / ; \\\" \u00e9 \ud83d\ude00";
        String args = MAPPER.writeValueAsString(List.of(text, java.util.Map.of("$where", "1 or 1=1; --", "k'\"", "%s%n")));

        long id = enqueuedId(enqueue("--json", args, worker));

        Result show = againstTestSchema(List.of("jobs", "show"), String.valueOf(id));
        assertThat(show.exit()).as(show.err()).isEqualTo(0);
        assertThat(shown(show, "worker")).isEqualTo(worker);
        assertThat(MAPPER.readTree(shown(show, "args"))).isEqualTo(MAPPER.readTree(args));
        try (QueueDatabase db = QueueDatabase.open(settings, 1, "cli-test-check")) {
            assertThat(db.jobs().find(id).orElseThrow().worker()).isEqualTo(worker);
            assertThat(db.dsl().fetchOne("select to_regclass('jobs')").get(0)).as("the jobs table").isNotNull();
        }
        Result list = againstTestSchema(List.of("jobs"), "--worker", worker);
        assertThat(list.exit()).as(list.err()).isEqualTo(0);
        assertThat(list.out()).contains(String.valueOf(id));
    }

    @Test
    void jobsRetryRunsADiscardedJobAgainAndSaysInOneLineWhyARunningOrUnknownOneIsNot() throws IOException {
        long id = enqueuedId(enqueue("--max-attempts", "2", "cli-retried", "1"));
        try (QueueDatabase db = QueueDatabase.open(settings, 1, "cli-test-check")) {
            db.dsl().execute("update jobs set state = 'discarded', attempt = 2, finalized_at = now() where id = ?", id);

            Result retry = againstTestSchema(List.of("jobs", "retry"), String.valueOf(id));

            assertThat(retry.exit()).as(retry.err()).isEqualTo(0);
            assertThat(retry.out().lines()).containsExactly("job " + id + " is available again: attempt 3 of 3 runs at once");
            assertThat(db.jobs().find(id).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);

            db.dsl().execute("update jobs set state = 'running', attempt = 3, runner_id = 'r', attempted_at = now() where id = ?", id);
            Result running = againstTestSchema(List.of("jobs", "retry"), String.valueOf(id));
            assertThat(running.exit()).isEqualTo(Main.EXIT_FAILURE);
            assertThat(running.errLines()).containsExactly("backtick: job " + id + " is running: retry it once it has "
                    + "finished, or cancel it first (backtick jobs cancel " + id + ")");
        }
        Result unknown = againstTestSchema(List.of("jobs", "retry"), "987654321");
        assertThat(unknown.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(unknown.errLines()).containsExactly("backtick: there is no job 987654321");
    }

    @Test
    void enqueueWithAKeyHeldByAWaitingJobPrintsThatJobsId() throws IOException {
        Result first = enqueue("--key", "cli-key-1", "cli-keyed", "1");
        Result second = enqueue("--key", "cli-key-1", "cli-keyed", "2");

        assertThat(first.exit()).as(first.err()).isEqualTo(0);
        assertThat(second.exit()).as(second.err()).isEqualTo(0);
        Matcher id = Pattern.compile("^job (\\d+) holds key cli-key-1$").matcher(first.out().strip());
        assertThat(id.matches()).as(first.out()).isTrue();
        assertThat(second.out().strip()).isEqualTo(first.out().strip());
        Result show = againstTestSchema(List.of("jobs", "show"), id.group(1));
        assertThat(show.out()).contains("key:          cli-key-1").contains("args:         [1]");
    }

    @Test
    void jobsRetryAllRunsEveryDiscardedJobOfAWorkerAgainAndRefusesRunningOnesInOneLine() throws IOException {
        long first = enqueuedId(enqueue("cli-retried-all", "1"));
        long second = enqueuedId(enqueue("cli-retried-all", "2"));
        try (QueueDatabase db = QueueDatabase.open(settings, 1, "cli-test-check")) {
            db.dsl().execute("update jobs set state = 'discarded', attempt = max_attempts, finalized_at = now() where id in (?, ?)",
                    first, second);

            Result retry = againstTestSchema(List.of("jobs", "retry-all"), "--state", "discarded", "--worker", "cli-retried-all");

            assertThat(retry.exit()).as(retry.err()).isEqualTo(0);
            assertThat(retry.out().lines())
                    .containsExactly("2 discarded job(s) of worker cli-retried-all available again, to run at once");
            assertThat(db.jobs().find(first).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
            assertThat(db.jobs().find(second).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
        }
        Result running = againstTestSchema(List.of("jobs", "retry-all"), "--state", "running");
        assertThat(running.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(running.errLines()).containsExactly("backtick: --state running cannot be retried: running jobs have "
                + "not ended yet; give one of discarded, cancelled, completed, retryable, scheduled");
        Result noState = againstTestSchema(List.of("jobs", "retry-all"), "--worker", "cli-retried-all");
        assertThat(noState.exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(noState.errLines()).first(STRING).contains("--state");
    }

    @Test
    void jobsCancelAllCancelsTheWaitingJobsOfAWorkerAndSaysHowMany() throws IOException {
        long waiting = enqueuedId(enqueue("cli-cancelled-all", "1"));
        long running = enqueuedId(enqueue("cli-cancelled-all", "2"));
        try (QueueDatabase db = QueueDatabase.open(settings, 1, "cli-test-check")) {
            db.dsl().execute("update jobs set state = 'running', attempt = 1, runner_id = 'r', attempted_at = now() where id = ?",
                    running);

            Result cancel = againstTestSchema(List.of("jobs", "cancel-all"), "--worker", "cli-cancelled-all");

            assertThat(cancel.exit()).as(cancel.err()).isEqualTo(0);
            assertThat(cancel.out().lines()).containsExactly("cancelled 1 waiting job(s) of worker cli-cancelled-all; "
                    + "told the runners of 1 running job(s) to stop them (each is recorded as cancelled when it returns)");
            assertThat(db.jobs().find(waiting).orElseThrow().state()).isEqualTo(JobState.CANCELLED);
        }
        Result noWorker = againstTestSchema(List.of("jobs", "cancel-all"));
        assertThat(noWorker.exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(noWorker.errLines()).first(STRING).contains("--worker");
    }

    @Test
    void runnersListsEachRunnerAliveOrLostWithTheJobsRunningUnderItAndItsWorkers() throws IOException {
        try (QueueDatabase db = QueueDatabase.open(settings, 1, "cli-test-check")) {
            db.dsl().execute("delete from runners");
            Result none = againstTestSchema(List.of("runners"));
            assertThat(none.exit()).as(none.err()).isEqualTo(0);
            assertThat(none.out().lines()).containsExactly("no runners (start one with 'backtick run --plugins DIR')");

            db.runners().register(new io.backtick.runner.queue.RunnerRegistry.RunnerInfo("cli-alive", "instance-1", "host-a",
                    11, "1.2.3", List.of("w1", "w2")));
            db.runners().register(new io.backtick.runner.queue.RunnerRegistry.RunnerInfo("cli-lost", "instance-2", "host-b",
                    22, "1.2.3", List.of("w3")));
            db.dsl().execute("update runners set heartbeat_at = now() - interval '2 minutes' where id = 'cli-lost'");
            long id = enqueuedId(enqueue("cli-runners", "1"));
            db.dsl().execute("update jobs set state = 'running', attempt = 1, runner_id = 'cli-alive', attempted_at = now() "
                    + "where id = ?", id);
            try {
                Result list = againstTestSchema(List.of("runners"));

                assertThat(list.exit()).as(list.err()).isEqualTo(0);
                assertThat(list.out().lines()).hasSize(3);
                assertThat(list.out().lines().toList().get(0)).startsWith("ID").contains("HEARTBEAT").endsWith("WORKERS");
                assertThat(list.out().lines().toList().get(1))
                        .matches("cli-alive +host-a +11 +1\\.2\\.3 +\\S+ +\\d+ s ago +1 +w1, w2");
                assertThat(list.out().lines().toList().get(2))
                        .matches("cli-lost +host-b +22 +1\\.2\\.3 +\\S+ +lost: silent 1[12]\\d s +0 +w3");
            } finally {
                db.dsl().execute("delete from jobs where id = ?", id);
                db.dsl().execute("delete from runners");
            }
        }
    }

    @Test
    void aJobForAWorkerNoRunnerServesIsAcceptedAndListedAsWaitingForOne() throws IOException {
        long id = enqueuedId(enqueue("cli-nobody-serves-this", "1"));

        Result list = againstTestSchema(List.of("jobs"));

        assertThat(list.exit()).as(list.err()).isEqualTo(0);
        assertThat(list.out().lines()).anySatisfy(line -> assertThat(line)
                .startsWith("waiting for a worker no live runner serves: ").contains("cli-nobody-serves-this (1)"));
        assertThat(jobsOf("cli-nobody-serves-this")).extracting(JobView::id, JobView::state)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(id, JobState.AVAILABLE));
    }

    @Test
    void enqueueNotesAWorkerNoRunnerHasDeclaredAndNotOneThatARunnerHas() throws IOException {
        Result undeclared = enqueue("cli-undeclared", "1");
        assertThat(undeclared.exit()).as(undeclared.err()).isEqualTo(0);
        assertThat(undeclared.errLines()).containsExactly("backtick: note: no runner has declared a worker named "
                + "'cli-undeclared' yet; the job waits until one that serves it starts");

        try (QueueDatabase db = QueueDatabase.open(settings, 1, "cli-test-check")) {
            db.jobs().registerWorkers(List.of(new WorkerDefaults("cli-declared", "default", 0, 16, null)));
        }
        Result declared = enqueue("cli-declared", "1");
        assertThat(declared.exit()).as(declared.err()).isEqualTo(0);
        assertThat(declared.err()).isEmpty();
    }

    @Test
    void argumentsOfSeveralMegabytesAreEnqueuedAndShownWhole() throws IOException {
        String big = "y".repeat(4 * 1024 * 1024);

        long id = enqueuedId(enqueue("--json", "[\"" + big + "\"]", "cli-big"));

        Result show = againstTestSchema(List.of("jobs", "show"), String.valueOf(id));
        assertThat(show.exit()).as(show.err()).isEqualTo(0);
        assertThat(shown(show, "args")).isEqualTo("[\"" + big + "\"]");
    }

    @Test
    void aDatabaseThatDoesNotExistIsNamedWithoutBlamingTheAddress() throws Exception {
        // The server answers, so the fault is the database's name, not the host or the port.
        URI server = URI.create(settings.jdbcUrl().substring("jdbc:".length()));
        String url = "jdbc:" + new URI(server.getScheme(), null, server.getHost(), server.getPort(),
                "/backtick_no_such_database", server.getQuery(), null);
        DatabaseSettings missing = new DatabaseSettings(url, settings.user(), settings.password(), settings.schema());
        List<String> args = new ArrayList<>(List.of("enqueue"));
        args.addAll(databaseArgs(missing, files));
        args.addAll(List.of("cli-missing-db", "1"));

        Result result = run(args.toArray(String[]::new));

        assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(result.errLines()).singleElement(STRING)
                .startsWith("backtick: cannot connect").contains("backtick_no_such_database").contains("does not exist")
                .doesNotContain("check that PostgreSQL is running");
    }

    @Test
    void unreachableDatabaseIsOneLineThatNeverShowsThePassword() {
        // Port 1: nothing listens there, so the connection is refused at once.
        Result result = run("enqueue", "--database-url", "postgres://bob:" + PASSWORD + "@127.0.0.1:1/nodb",
                "cli-unreachable", "1");

        assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(result.errLines()).singleElement(STRING)
                .startsWith("backtick: ").contains("cannot connect")
                .contains("check that PostgreSQL is running there and that --database-url");
        assertThat(result.out()).doesNotContain(PASSWORD);
        assertThat(result.err()).doesNotContain(PASSWORD);
    }

    @Test
    void helpNeverShowsThePasswordFromTheConfigFile() throws IOException {
        Path config = files.resolve("with-password.properties");
        Files.writeString(config, "database-url=postgres://bob:" + PASSWORD + "@host/db\n");

        for (String command : List.of("run", "enqueue")) {
            Result result = run("--config", config.toString(), command, "--help");

            assertThat(result.exit()).as(command).isEqualTo(0);
            assertThat(result.out()).as(command).contains("--database-url").doesNotContain(PASSWORD);
            assertThat(result.err()).as(command).doesNotContain(PASSWORD);
        }
    }

    @Test
    void versionPrintsTheBacktickVersion() {
        Result result = run("version");

        assertThat(result.exit()).isEqualTo(0);
        assertThat(result.out()).startsWith("backtick ");
    }

    @Test
    void runWithoutPluginsSaysTheyAreRequired() {
        Result result = run("run");

        assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(result.errLines()).singleElement(STRING)
                .startsWith("backtick: --plugins is required");
    }

    @Test
    void runWithNoMigrateOnASchemaThatLacksAMigrationSaysToMigrateFirst() throws IOException {
        DatabaseSettings older = TestDatabase.newQueueSettings(CliTest.class);
        try {
            // As an older build left it: without the newest migration.
            TestDatabase.execute("delete from " + older.schema() + ".backtick_schema_history where installed_rank = "
                    + "(select max(installed_rank) from " + older.schema() + ".backtick_schema_history)");
            Path plugins = Files.createTempDirectory(files, "plugins");
            io.backtick.runner.testsupport.PluginJars.build(plugins.resolve("ticks.jar"),
                    io.backtick.runner.e2e.fixtures.TickPlugin.class);
            List<String> args = new ArrayList<>(List.of("run", "--no-migrate", "--plugins", plugins.toString()));
            args.addAll(databaseArgs(older, files));

            Result result = run(args.toArray(String[]::new));

            assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
            assertThat(result.err()).doesNotContain("\tat ");
            assertThat(result.errLines()).filteredOn(line -> line.startsWith("backtick:"))
                    .singleElement(STRING).isEqualTo("backtick: the queue schema " + older.schema()
                    + " lacks 1 migration(s) this runner needs and --no-migrate was given; run 'backtick migrate' first");
        } finally {
            TestDatabase.dropSchema(older.schema());
        }
    }

    @Test
    void runWithTheIdOfALiveRunnerSaysSoInOneLineAndLeavesThatRunnerAlone() throws IOException {
        DatabaseSettings queue = TestDatabase.newQueueSettings(CliTest.class);
        try (QueueDatabase db = QueueDatabase.open(queue, 4, "backtick-test-live-runner")) {
            io.backtick.runner.plugin.WorkerRegistry workers = new io.backtick.runner.plugin.WorkerRegistry();
            workers.declaringFor("test").define("tick", Void.class, (args, job) -> { });
            io.backtick.runner.engine.Runner live = new io.backtick.runner.engine.Runner(
                    io.backtick.runner.config.RunnerSettings.defaults("busy"), db, workers);
            live.start();
            try {
                Path plugins = Files.createTempDirectory(files, "plugins");
                io.backtick.runner.testsupport.PluginJars.build(plugins.resolve("ticks.jar"),
                        io.backtick.runner.e2e.fixtures.TickPlugin.class);
                List<String> args = new ArrayList<>(List.of("run", "--plugins", plugins.toString(), "--runner-id", "busy"));
                args.addAll(databaseArgs(queue, files));

                Result result = run(args.toArray(String[]::new));

                assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
                assertThat(result.err()).doesNotContain("\tat ");
                assertThat(result.errLines()).filteredOn(line -> line.startsWith("backtick:"))
                        .singleElement(STRING)
                        .startsWith("backtick: runner id 'busy' is in use by a live runner (pid " + ProcessHandle.current().pid() + " on ")
                        .endsWith("): give each runner its own --runner-id (BACKTICK_RUNNER_ID), or leave it unset for one of its own");
                assertThat(live.idTaken()).as("the live runner keeps its id").isNotDone();
            } finally {
                live.stop();
            }
        } finally {
            TestDatabase.dropSchema(queue.schema());
        }
    }

    @Test
    void runWithAMissingPluginDirectorySaysItDoesNotExist() {
        Result result = run("run", "--plugins", "/nonexistent");

        assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(result.errLines()).singleElement(STRING)
                .startsWith("backtick: ").contains("/nonexistent").contains("does not exist");
    }
}
