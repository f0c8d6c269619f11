package io.backtick.runner.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.InstanceOfAssertFactories.STRING;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.backtick.api.BacktickClient;
import io.backtick.runner.bench.Bench;
import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.queue.BenchSchema;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.TestDatabase;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code backtick bench} in-process against the test server, each test in a schema of its own.
 * These prove the bench works and cleans up; they never assert how fast anything is.
 */
class BenchCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path files;

    /** {@code bench} on {@code schema} of the test server, followed by {@code rest}. */
    private CliTest.Result bench(String schema, String... rest) throws IOException {
        List<String> args = new ArrayList<>(List.of("bench"));
        args.addAll(CliTest.databaseArgs(TestDatabase.server().withSchema(schema), files));
        args.addAll(List.of(rest));
        return CliTest.run(args.toArray(String[]::new));
    }

    private static JsonNode json(CliTest.Result result) throws IOException {
        assertThat(result.exit()).as(result.err()).isZero();
        assertThat(result.out().lines()).as("stdout is one JSON object").hasSize(1);
        return JSON.readTree(result.out());
    }

    @Test
    void burnDownRunsEveryJobReportsBothRatesAndDropsItsSchema() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);

        JsonNode report = json(bench(schema, "--jobs", "3000", "--threads", "4", "--json"));

        assertThat(report.path("mode").asText()).isEqualTo("burn-down");
        assertThat(report.path("jobs").asLong()).isEqualTo(3000);
        assertThat(report.path("backlog").asLong()).isZero();
        assertThat(report.path("threads").asInt()).isEqualTo(4);
        assertThat(report.path("enqueue").path("jobs").asLong()).isEqualTo(3000);
        assertThat(report.path("process").path("jobs").asLong()).isEqualTo(3000);
        assertThat(report.path("completed").asLong()).isEqualTo(3000);
        assertThat(report.path("checkpointed").asBoolean()).as("the test database's user may run CHECKPOINT").isTrue();
        for (String phase : List.of("enqueue", "process")) {
            assertThat(report.path(phase).path("seconds").asDouble()).as(phase).isPositive();
            assertThat(report.path(phase).path("jobs_per_second").asDouble()).as(phase).isPositive();
        }
        assertThat(report.path("schema").asText()).isEqualTo(schema);
        assertThat(report.path("schema_dropped").asBoolean()).isTrue();
        assertThat(report.path("environment").path("postgres").asText()).isNotBlank();
        assertThat(report.path("environment").path("cores").asInt()).isPositive();
        assertThat(schemaExists(schema)).isFalse();
    }

    @Test
    void aUserWhoMayNotCheckpointStillGetsItsFiguresAndIsToldSo() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);
        String role = schema + "_user";
        String password = "bench-" + Long.toHexString(System.nanoTime());
        TestDatabase.execute("create role " + role + " login password '" + password + "'");
        try {
            TestDatabase.execute("do $$ begin execute format('grant create on database %I to " + role
                    + "', current_database()); end $$");
            DatabaseSettings asRole = new DatabaseSettings(TestDatabase.server().jdbcUrl(), role, password, schema);
            List<String> args = new ArrayList<>(List.of("bench"));
            args.addAll(CliTest.databaseArgs(asRole, files));
            args.addAll(List.of("--jobs", "500", "--threads", "2"));

            CliTest.Result result = CliTest.run(args.toArray(String[]::new));

            assertThat(result.exit()).as(result.err()).isZero();
            assertThat(result.out()).contains("no CHECKPOINT (the user may not run one)").contains("all completed");
            assertThat(schemaExists(schema)).isFalse();
        } finally {
            TestDatabase.dropSchema(schema);
            TestDatabase.execute("do $$ begin execute format('revoke create on database %I from " + role
                    + "', current_database()); end $$");
            TestDatabase.execute("drop owned by " + role);
            TestDatabase.execute("drop role " + role);
        }
    }

    @Test
    void burnDownAboveABacklogTimesOnlyTheTimedJobs() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);

        JsonNode report = json(bench(schema, "--jobs", "1000", "--backlog", "2000", "--threads", "4", "--json"));

        assertThat(report.path("backlog").asLong()).isEqualTo(2000);
        assertThat(report.path("backlog_enqueue").path("jobs").asLong()).isEqualTo(2000);
        assertThat(report.path("process").path("jobs").asLong()).isEqualTo(1000);
        assertThat(report.path("completed").asLong()).isEqualTo(1000);
        assertThat(schemaExists(schema)).isFalse();
    }

    @Test
    void aHistoryOfCompletedJobsFillsTheTableBeforeTheRunAndIsNotCounted() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);
        try {
            JsonNode report = json(bench(schema, "--jobs", "1000", "--history", "2500", "--threads", "4", "--keep", "--json"));

            assertThat(report.path("history").asLong()).isEqualTo(2500);
            assertThat(report.path("history_insert").path("jobs").asLong()).isEqualTo(2500);
            assertThat(report.path("completed").asLong()).isEqualTo(1000);
            assertThat(jobCount(schema)).isEqualTo(3500);
            String history = "select count(*) from \"" + schema + "\".jobs where runner_id = 'bench-history' and ? is not null";
            assertThat(queryOne(history + " and state = 'completed' and attempt = 1", schema)).isEqualTo(2500);
            assertThat(queryOne(history + " and finalized_at > now() - interval '1 day 1 minute'", schema))
                    .as("finished over the past day").isEqualTo(2500);
            assertThat(queryOne(history + " and finalized_at < now() - interval '23 hours'", schema))
                    .as("spread over it").isBetween(1L, 200L);
        } finally {
            TestDatabase.dropSchema(schema);
        }
    }

    @Test
    void aHistoryIsToldInTheTextReport() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);

        CliTest.Result result = bench(schema, "--rate", "50", "--duration", "1s", "--history", "300", "--threads", "2");

        assertThat(result.exit()).as(result.err()).isZero();
        assertThat(result.out().lines().toList().get(1)).matches("history +300 jobs in .*completed jobs of the past day.*");
        assertThat(result.out().lines()).anyMatch(line -> line.matches("gc +\\d+ pauses while timed, .* jobs waited through one, the rest: p50 .*"));
        assertThat(result.out().lines()).anyMatch(line -> line.startsWith("latency ") && line.endsWith("(a runner just started,"
                + " its JVM still compiling: --warmup 5000 times one that has run a while)"));
        assertThat(schemaExists(schema)).isFalse();
    }

    @Test
    void aNegativeHistoryIsRefusedInOneLine() throws IOException {
        CliTest.Result result = bench(TestDatabase.newSchema(BenchCommandTest.class), "--history", "-1");

        assertThat(result.exit()).isNotZero();
        assertThat(result.errLines()).containsExactly("backtick: --history must be between 0 and "
                + io.backtick.runner.bench.BenchOptions.MAX_HISTORY + ", was -1");
    }

    @Test
    void burnDownWithSeveralRunnersAfterAWarmUpRunsEveryTimedJob() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);

        JsonNode report = json(bench(schema, "--jobs", "2000", "--warmup", "500", "--runners", "3", "--threads", "2",
                "--json"));

        assertThat(report.path("runners").asInt()).isEqualTo(3);
        assertThat(report.path("warmup").asInt()).isEqualTo(500);
        assertThat(report.path("process").path("jobs").asLong()).isEqualTo(2000);
        assertThat(report.path("completed").asLong()).as("the warm-up jobs are not counted").isEqualTo(2000);
        assertThat(schemaExists(schema)).isFalse();
    }

    @Test
    void continuousModeReportsThroughputAndLatencyPercentiles() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);

        JsonNode report = json(bench(schema, "--rate", "200", "--duration", "2s", "--threads", "4", "--json"));

        assertThat(report.path("mode").asText()).isEqualTo("continuous");
        assertThat(report.path("rate").asDouble()).isEqualTo(200.0);
        assertThat(report.path("duration_seconds").asDouble()).isEqualTo(2.0);
        assertThat(report.path("enqueue").path("jobs").asLong()).isEqualTo(400);
        assertThat(report.path("process").path("jobs").asLong()).isEqualTo(400);
        assertThat(report.path("completed").asLong()).isEqualTo(400);
        JsonNode latency = report.path("latency_ms");
        assertThat(latency.path("jobs").asLong()).isEqualTo(400);
        double p50 = latency.path("p50").asDouble();
        double p90 = latency.path("p90").asDouble();
        double p99 = latency.path("p99").asDouble();
        double max = latency.path("max").asDouble();
        assertThat(p50).isNotNegative().isLessThanOrEqualTo(p90);
        assertThat(p90).isLessThanOrEqualTo(p99);
        assertThat(p99).isLessThanOrEqualTo(max);
        JsonNode gc = report.path("gc");
        assertThat(gc.path("pauses").isInt()).as(gc.toString()).isTrue();
        assertThat(gc.path("jobs_waited_through_a_pause").asLong() + gc.path("latency_ms_of_the_rest").path("jobs").asLong())
                .as("every timed job waited through a pause or not").isEqualTo(400);
        assertThat(gc.path("latency_ms_of_the_rest").path("max").asDouble()).isLessThanOrEqualTo(max);
        assertThat(report.path("schema_dropped").asBoolean()).isTrue();
        assertThat(schemaExists(schema)).isFalse();
    }

    @Test
    void continuousModeWarmsUpWithTheFirstJobsOfTheStreamAndTimesOnlyTheRest() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);
        try {
            JsonNode report = json(bench(schema, "--rate", "200", "--duration", "1s", "--warmup", "150", "--threads", "4",
                    "--keep", "--json"));

            assertThat(report.path("warmup").asInt()).isEqualTo(150);
            assertThat(report.path("enqueue").path("jobs").asLong()).isEqualTo(200);
            assertThat(report.path("completed").asLong()).as("the warm-up is not counted").isEqualTo(200);
            assertThat(report.path("latency_ms").path("jobs").asLong()).isEqualTo(200);
            assertThat(report.path("enqueue").path("seconds").asDouble())
                    .as("timed from the first timed job, not from the warm-up's first").isLessThan(1.7);
            try (Connection c = TestDatabase.connect(); PreparedStatement count = c.prepareStatement(
                    "select count(*) filter (where args = '[-1]'), count(*) filter (where args <> '[-1]')"
                            + " from " + schema + ".jobs where state = 'completed'")) {
                ResultSet r = count.executeQuery();
                r.next();
                assertThat(r.getLong(1)).as("warm-up jobs run").isEqualTo(150);
                assertThat(r.getLong(2)).as("timed jobs run").isEqualTo(200);
            }
        } finally {
            TestDatabase.dropSchema(schema);
        }
    }

    @Test
    void continuousModeWithInSchedulesEveryJobAndTimesItFromItsDueTime() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);
        try {
            JsonNode report = json(bench(schema, "--rate", "100", "--duration", "1s", "--in", "300ms", "--threads", "4",
                    "--keep", "--json"));

            assertThat(report.path("scheduled_in_ms").asLong()).isEqualTo(300);
            assertThat(report.path("completed").asLong()).isEqualTo(100);
            assertThat(report.path("latency_ms").path("jobs").asLong()).isEqualTo(100);
            try (Connection c = TestDatabase.connect(); PreparedStatement jobs = c.prepareStatement(
                    "select count(*), min(run_at - created_at), max(run_at - created_at), bool_and(attempted_at >= run_at)"
                            + " from " + schema + ".jobs where state = 'completed'")) {
                ResultSet r = jobs.executeQuery();
                r.next();
                assertThat(r.getLong(1)).isEqualTo(100);
                assertThat(r.getString(2)).as("each due 300 ms after its enqueue").isEqualTo("00:00:00.3");
                assertThat(r.getString(3)).isEqualTo("00:00:00.3");
                assertThat(r.getBoolean(4)).as("none started before it was due").isTrue();
            }
        } finally {
            TestDatabase.dropSchema(schema);
        }
    }

    @Test
    void continuousModeEnqueuesTheWarmUpAtItsOwnRate() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);
        try {
            // At the rate, the 40 jobs of the warm-up would take 20 s to enqueue; at 400 a second, 0.1 s.
            JsonNode report = json(bench(schema, "--rate", "2", "--duration", "1s", "--warmup", "40", "--warmup-rate", "400",
                    "--threads", "4", "--keep", "--json"));

            assertThat(report.path("warmup").asInt()).isEqualTo(40);
            assertThat(report.path("warmup_rate").asDouble()).isEqualTo(400.0);
            assertThat(report.path("latency_ms").path("jobs").asLong()).isEqualTo(2);
            try (Connection c = TestDatabase.connect(); PreparedStatement spans = c.prepareStatement(
                    "select count(*) filter (where priority = ?), extract(epoch from max(created_at) filter (where priority = ?)"
                            + " - min(created_at) filter (where priority = ?)), extract(epoch from max(created_at) filter"
                            + " (where priority = ?) - min(created_at) filter (where priority = ?)) from " + schema + ".jobs")) {
                for (int i = 1; i <= 5; i++) {
                    spans.setInt(i, i <= 3 ? Bench.WARMUP_PRIORITY : Bench.TIMED_PRIORITY);
                }
                ResultSet r = spans.executeQuery();
                r.next();
                assertThat(r.getLong(1)).isEqualTo(40);
                assertThat(r.getDouble(2)).as("the warm-up's 40 enqueues, 2.5 ms apart").isLessThan(5.0);
                assertThat(r.getDouble(3)).as("the timed jobs, half a second apart").isBetween(0.4, 5.0);
            }
        } finally {
            TestDatabase.dropSchema(schema);
        }
    }

    @Test
    void warmupRateOutsideContinuousModeOrWithoutAWarmUpIsAUsageError() throws IOException {
        CliTest.Result burnDown = bench(TestDatabase.newSchema(BenchCommandTest.class), "--jobs", "100", "--warmup", "10",
                "--warmup-rate", "100");
        CliTest.Result noWarmUp = bench(TestDatabase.newSchema(BenchCommandTest.class), "--rate", "10", "--warmup-rate", "100");

        assertThat(burnDown.exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(burnDown.errLines().get(0)).startsWith("backtick: --warmup-rate is for continuous mode");
        assertThat(noWarmUp.exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(noWarmUp.errLines().get(0)).startsWith("backtick: --warmup-rate needs --warmup N");
    }

    @Test
    void inOutsideContinuousModeIsAUsageError() throws IOException {
        CliTest.Result result = bench(TestDatabase.newSchema(BenchCommandTest.class), "--jobs", "100", "--in", "1s");

        assertThat(result.exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(result.errLines().get(0)).startsWith("backtick: --in is for continuous mode");
    }

    @Test
    void steadyModeKeepsTheQueueAtItsDepthAndLosesNoJobItStarted() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);
        try {
            JsonNode report = json(bench(schema, "--depth", "500", "--duration", "2s", "--threads", "4", "--keep", "--json"));

            assertThat(report.path("mode").asText()).isEqualTo("steady");
            assertThat(report.path("depth").asInt()).isEqualTo(500);
            assertThat(report.path("duration_seconds").asDouble()).isEqualTo(2.0);
            assertThat(report.path("fill").path("jobs").asLong()).isEqualTo(500);
            long started = report.path("process").path("jobs").asLong();
            long toppedUp = report.path("enqueue").path("jobs").asLong();
            assertThat(started).as("the runner worked through more than the fill").isGreaterThan(500);
            assertThat(toppedUp).as("the feeder kept up").isGreaterThan(0);
            JsonNode held = report.path("depth_held");
            assertThat(held.path("mean").asLong()).isBetween(250L, 500L);
            assertThat(held.path("min").asLong()).isBetween(0L, held.path("mean").asLong());

            long completed = report.path("completed").asLong();
            assertThat(completed).isGreaterThanOrEqualTo(started);
            assertThat(jobCount(schema)).as("every job enqueued is in the table").isEqualTo(500 + toppedUp);
            assertThat(queryOne("select count(*) from \"" + schema + "\".jobs where state = 'completed' and ? is not null", schema))
                    .isEqualTo(completed);
            assertThat(queryOne("select count(*) from \"" + schema + "\".jobs where state = 'available' and ? is not null", schema))
                    .as("the rest wait, none left running by the stopped runner").isEqualTo(500 + toppedUp - completed);
        } finally {
            TestDatabase.dropSchema(schema);
        }
    }

    @Test
    void steadyModeSaysInTextWhatDepthItHeld() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);

        CliTest.Result result = bench(schema, "--depth", "200", "--duration", "1s", "--threads", "2");

        assertThat(result.exit()).as(result.err()).isZero();
        assertThat(result.out()).startsWith("steady: 200 jobs kept waiting for 1.0 s, 2 threads")
                .containsPattern("fill +200 jobs in .*untimed; then VACUUM \\(ANALYZE\\), untimed; then CHECKPOINT, untimed")
                .containsPattern("process .* jobs/s +\\(started at depth: [0-9,]+ waiting at least, [0-9,]+ on average; all completed\\)")
                .contains("schema " + schema + " dropped");
        assertThat(schemaExists(schema)).isFalse();
    }

    @Test
    void depthWithARateIsAUsageError() throws IOException {
        CliTest.Result result = bench(TestDatabase.newSchema(BenchCommandTest.class), "--depth", "100", "--rate", "10");

        assertThat(result.exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(result.errLines().get(0)).startsWith("backtick: --rate is for continuous mode");
    }

    @Test
    void refusesASchemaHoldingJobsItDidNotCreateAndLeavesThemAlone() throws IOException, SQLException {
        DatabaseSettings queue = TestDatabase.newQueueSettings(BenchCommandTest.class);
        try (QueueDatabase db = QueueDatabase.open(queue, 1, "bench-test")) {
            BacktickClient.create(db.dataSource()).withSchema(queue.schema()).schedule("precious", 42);
        }
        try {
            CliTest.Result result = bench(queue.schema(), "--jobs", "10", "--json");

            assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
            assertThat(result.out()).isEmpty();
            assertThat(result.errLines()).singleElement(STRING)
                    .startsWith("backtick: schema " + queue.schema() + " holds jobs that backtick bench did not create")
                    .contains("--schema");
            assertThat(jobCount(queue.schema())).isEqualTo(1);
        } finally {
            TestDatabase.dropSchema(queue.schema());
        }
    }

    @Test
    void refusesAnExistingSchemaItDidNotMarkEvenWhenEmpty() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);
        TestDatabase.execute("create schema " + schema);
        try {
            CliTest.Result result = bench(schema, "--jobs", "10");

            assertThat(result.exit()).isEqualTo(Main.EXIT_FAILURE);
            assertThat(result.errLines()).singleElement(STRING)
                    .startsWith("backtick: schema " + schema + " already exists and backtick bench did not create it");
            assertThat(schemaExists(schema)).isTrue();
        } finally {
            TestDatabase.dropSchema(schema);
        }
    }

    @Test
    void keepLeavesTheMarkedSchemaAndTheNextBenchReplacesIt() throws IOException, SQLException {
        String schema = TestDatabase.newSchema(BenchCommandTest.class);
        try {
            CliTest.Result kept = bench(schema, "--jobs", "500", "--threads", "2", "--keep");

            assertThat(kept.exit()).as(kept.err()).isZero();
            assertThat(kept.out()).contains("burn-down of 500 jobs").contains("then CHECKPOINT, untimed")
                    .contains("schema " + schema + " kept");
            assertThat(schemaComment(schema)).isEqualTo(BenchSchema.MARK);
            assertThat(jobCount(schema)).isEqualTo(500);

            JsonNode again = json(bench(schema, "--jobs", "200", "--threads", "2", "--json"));

            assertThat(again.path("completed").asLong()).isEqualTo(200);
            assertThat(schemaExists(schema)).isFalse();
        } finally {
            TestDatabase.dropSchema(schema);
        }
    }

    @Test
    void jobsWithContinuousModeIsAUsageError() throws IOException, SQLException {
        CliTest.Result result = bench(TestDatabase.newSchema(BenchCommandTest.class), "--rate", "10", "--jobs", "5");

        assertThat(result.exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(result.errLines().get(0)).startsWith("backtick: --jobs is for burn-down mode");
    }

    @Test
    void helpSaysTheSchemaIsTheBenchsOwnAndNotFromTheEnvironment() {
        CliTest.Result result = CliTest.run("bench", "--help");

        assertThat(result.exit()).isZero();
        assertThat(result.out()).contains("default: backtick_bench").contains("never BACKTICK_SCHEMA")
                .doesNotContain("default: backtick)");
    }

    private static boolean schemaExists(String schema) throws SQLException {
        return queryOne("select count(*) from pg_namespace where nspname = ?", schema) == 1;
    }

    private static long jobCount(String schema) throws SQLException {
        return queryOne("select count(*) from \"" + schema + "\".jobs where ? is not null", schema);
    }

    private static String schemaComment(String schema) throws SQLException {
        try (Connection c = TestDatabase.connect();
             PreparedStatement st = c.prepareStatement(
                     "select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = ?")) {
            st.setString(1, schema);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static long queryOne(String sql, String parameter) throws SQLException {
        try (Connection c = TestDatabase.connect(); PreparedStatement st = c.prepareStatement(sql)) {
            st.setString(1, parameter);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
