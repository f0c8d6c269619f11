package io.backtick.runner.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.runner.chaos.fixtures.ChaosPlugin;
import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.BacktickCli;
import io.backtick.runner.testsupport.PluginJars;
import io.backtick.runner.testsupport.RunnerProcess;
import io.backtick.runner.testsupport.TestDatabase;
import io.backtick.runner.testsupport.ThrowawayPostgres;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One chaos scenario's world: a queue schema of its own (on the shared test server, or on a
 * {@link ThrowawayPostgres} the scenario may restart), the {@link ChaosPlugin} bundled with the
 * PostgreSQL driver, the table where every execution records itself, and the runner processes.
 * The scenario enqueues, does its harm, waits, and calls {@link #verify}, which checks every job
 * and prints what the scenario saw.
 *
 * <p>The scale comes from the system property {@code backtick.chaos.scale}: {@code short} in the
 * normal build, {@code long} under the Maven profile {@code chaos-long}.
 */
final class ChaosRun implements AutoCloseable {

    static final boolean LONG = "long".equals(System.getProperty("backtick.chaos.scale", "short"));

    private final String scenario;
    private final DatabaseSettings settings;
    private final String recordUrl;
    private final boolean ownSchemaOnSharedServer;
    private final Path plugins;
    private final String table;
    private final String jobs;
    private final List<RunnerProcess> processes = Collections.synchronizedList(new ArrayList<>());
    private final Set<Long> stoppedPids = Collections.synchronizedSet(new HashSet<>());
    private final long started = System.nanoTime();
    private BacktickCli cli;
    private final AtomicLong enqueued = new AtomicLong();
    private ScheduledExecutorService feeder;

    private ChaosRun(String scenario, DatabaseSettings settings, boolean shared, Path dir) throws IOException {
        this.scenario = scenario;
        this.settings = settings;
        this.ownSchemaOnSharedServer = shared;
        this.recordUrl = withCredentials(settings);
        this.table = "\"" + settings.schema() + "\".chaos_executions";
        this.jobs = "\"" + settings.schema() + "\".jobs";
        this.plugins = dir.resolve("plugins");
        Path bundle = Files.createDirectories(plugins.resolve("chaos"));
        PluginJars.build(bundle.resolve("chaos.jar"), ChaosPlugin.class);
        Files.copy(PluginJars.jarOf(org.postgresql.Driver.class), bundle.resolve("postgresql.jar"));
        try (QueueDatabase db = QueueDatabase.open(settings, 2, "chaos-migrate")) {
            db.migrate();
        }
        execute("create table " + table + " (id bigint generated always as identity primary key, job_id bigint not null,"
                + " attempt int not null, runner_id text not null, pid bigint not null, nonce uuid not null unique,"
                + " at timestamptz not null default clock_timestamp())");
        BacktickCli base = BacktickCli.fromSystemProperties()
                .withEnv("BACKTICK_DATABASE_URL", settings.jdbcUrl())
                .withEnv("BACKTICK_SCHEMA", settings.schema())
                .withEnv("CHAOS_RECORD_URL", recordUrl)
                .withEnv("CHAOS_RECORD_TABLE", table);
        if (settings.user() != null) {
            base = base.withEnv("BACKTICK_DATABASE_USER", settings.user());
        }
        if (settings.password() != null) {
            base = base.withEnv("BACKTICK_DATABASE_PASSWORD", settings.password());
        }
        this.cli = base;
        System.out.printf("chaos %s: scale %s, schema %s%n", scenario, LONG ? "long" : "short", settings.schema());
    }

    /** A scenario on the shared test server, in a schema of its own. */
    static ChaosRun onSharedServer(String scenario, Path dir) throws IOException {
        DatabaseSettings server = TestDatabase.server();
        return new ChaosRun(scenario, server.withSchema(TestDatabase.newSchema(ChaosRun.class) + "_" + scenario), true, dir);
    }

    /** A scenario on a cluster of its own. */
    static ChaosRun on(ThrowawayPostgres postgres, String scenario, Path dir) throws IOException {
        return new ChaosRun(scenario, postgres.settings("backtick"), false, dir);
    }

    /** {@code shortValue} in the normal build, {@code longValue} under {@code -Pchaos-long}. */
    static int scale(int shortValue, int longValue) {
        return LONG ? longValue : shortValue;
    }

    /** One more environment variable for the runners started from now on. */
    void withRunnerEnv(String name, String value) {
        cli = cli.withEnv(name, value);
    }

    /** Starts {@code backtick run} as runner {@code id} with {@code args} and waits until it has started. */
    RunnerProcess startRunner(String id, String... args) {
        RunnerProcess runner = launch(id, args);
        runner.awaitLine("started", Duration.ofSeconds(90));
        return runner;
    }

    /**
     * Starts runners {@code prefix-1} to {@code prefix-n}, all at once (a JVM takes seconds to start
     * on a busy machine), and waits until every one has started.
     */
    List<RunnerProcess> startRunners(int n, String prefix, String... args) {
        List<RunnerProcess> runners = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            runners.add(launch(prefix + "-" + i, args));
        }
        runners.forEach(r -> r.awaitLine("started", Duration.ofSeconds(90)));
        return runners;
    }

    /** Starts {@code backtick run} as runner {@code id} with {@code args}, without waiting for it. */
    RunnerProcess launch(String id, String... args) {
        List<String> command = new ArrayList<>(List.of("run", "--plugins", plugins.toString(), "--poll-interval", "200ms"));
        command.addAll(List.of(args));
        RunnerProcess runner = cli.withEnv("BACKTICK_RUNNER_ID", id).start(command.toArray(String[]::new));
        processes.add(runner);
        return runner;
    }

    /** kill -9: the runner dies with whatever it holds. */
    void kill(RunnerProcess runner) {
        stoppedPids.add(runner.pid());
        runner.close();
    }

    /** Marks a runner as one the scenario stops (SIGTERM), so its jobs may run again elsewhere. */
    void stopping(RunnerProcess runner) {
        stoppedPids.add(runner.pid());
    }

    /** Enqueues {@code n} jobs of {@code millis} of work each, in one statement. */
    void enqueue(int n, long millis, boolean inDatabase) {
        execute("insert into " + jobs + " (worker, args) select '" + ChaosPlugin.WORKER + "', jsonb_build_array("
                + millis + ", " + inDatabase + ") from generate_series(1, " + n + ")");
        enqueued.addAndGet(n);
    }

    /** How many jobs this run has enqueued. */
    long enqueued() {
        return enqueued.get();
    }

    /**
     * Keeps at least {@code backlog} jobs of {@code millis} available, checking every 200 ms, until
     * {@link #stopFeeding}: the runners' speed, not the supply, sets the pace, however fast they are.
     */
    void startFeeding(int backlog, long millis) {
        feeder = Executors.newSingleThreadScheduledExecutor();
        feeder.scheduleWithFixedDelay(() -> {
            if (count("select count(*) from " + jobs + " where state = 'available'") < backlog) {
                enqueue(backlog, millis, false);
            }
        }, 0, 200, TimeUnit.MILLISECONDS);
    }

    /** Stops feeding and returns how many jobs this run has enqueued in all. */
    long stopFeeding() throws InterruptedException {
        feeder.shutdown();
        assertThat(feeder.awaitTermination(30, TimeUnit.SECONDS)).as("feeder stopped").isTrue();
        return enqueued();
    }

    long executions() {
        return count("select count(*) from " + table);
    }

    long completed() {
        return count("select count(*) from " + jobs + " where state = 'completed'");
    }

    /** Running jobs held by runner {@code id}. */
    long runningOn(String id) {
        return query(c -> {
            try (PreparedStatement st = c.prepareStatement("select count(*) from " + jobs + " where state = 'running' and runner_id = ?")) {
                st.setString(1, id);
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    /** The ids of the runners that hold running jobs now. */
    List<String> runnersHoldingJobs() {
        return query(c -> {
            List<String> ids = new ArrayList<>();
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("select distinct runner_id from " + jobs + " where state = 'running' order by 1")) {
                while (rs.next()) {
                    ids.add(rs.getString(1));
                }
            }
            return ids;
        });
    }

    /** Waits until at least {@code n} executions have been recorded. */
    void awaitExecutions(long n, Duration atMost) {
        await(scenario + ": " + n + " executions").atMost(atMost).pollInterval(Duration.ofMillis(100))
                .until(() -> executions() >= n);
    }

    /** Waits until every one of the {@code n} jobs has reached an end state, failing fast if any is discarded. */
    void awaitAllFinished(long n, Duration atMost) {
        await(scenario + ": all " + n + " jobs finished").atMost(atMost).pollInterval(Duration.ofMillis(250)).until(() -> {
            long notCompleted = count("select count(*) from " + jobs + " where state in ('discarded', 'cancelled')");
            assertThat(notCompleted).as("jobs discarded or cancelled").isZero();
            return completed() >= n;
        });
    }

    double elapsedSeconds() {
        return (System.nanoTime() - started) / 1e9;
    }

    /** What a scenario saw. */
    record Report(long jobs, long executions, long ranMoreThanOnce, long rescued, double elapsedSeconds) {
    }

    /**
     * Checks every job: exactly {@code expectedJobs} jobs, all completed; each executed at least
     * once; executed more than once only when every execution but its last was on a runner the
     * scenario killed or stopped. Prints the numbers.
     */
    Report verify(long expectedJobs) {
        Map<String, Long> states = new LinkedHashMap<>();
        query(c -> {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("select state::text, count(*) from " + jobs + " group by 1 order by 1")) {
                while (rs.next()) {
                    states.put(rs.getString(1), rs.getLong(2));
                }
            }
            return null;
        });
        long neverRan = count("select count(*) from " + jobs + " j where not exists (select 1 from " + table + " e where e.job_id = j.id)");
        long unknown = count("select count(*) from " + table + " e where not exists (select 1 from " + jobs + " j where j.id = e.job_id)");
        long executions = executions();
        long rescued = count("select count(*) from " + jobs + " where errors::text like '%\"kind\": \"lost\"%'");
        Map<Long, List<Long>> pidsByJob = new LinkedHashMap<>();
        query(c -> {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("select job_id, pid from " + table + " where job_id in (select job_id from " + table
                         + " group by 1 having count(*) > 1) order by job_id, id")) {
                while (rs.next()) {
                    pidsByJob.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getLong(2));
                }
            }
            return null;
        });
        List<String> unexplained = new ArrayList<>();
        pidsByJob.forEach((job, pids) -> {
            if (!stoppedPids.containsAll(pids.subList(0, pids.size() - 1))) {
                unexplained.add("job " + job + " ran on pids " + pids);
            }
        });
        Report report = new Report(states.values().stream().mapToLong(Long::longValue).sum(), executions, pidsByJob.size(),
                rescued, elapsedSeconds());
        System.out.printf("chaos %s: %d jobs %s, %d executions, %d jobs ran more than once (%d unexplained), "
                        + "%d with a lost-runner error, %d runner process(es) killed or stopped, %.1f s%n",
                scenario, report.jobs(), states, executions, report.ranMoreThanOnce(), unexplained.size(), rescued,
                stoppedPids.size(), report.elapsedSeconds());
        assertThat(states).as("jobs by state").containsOnlyKeys("completed").containsEntry("completed", expectedJobs);
        assertThat(neverRan).as("completed jobs that never ran").isZero();
        assertThat(unknown).as("executions of jobs not in the queue").isZero();
        assertThat(unexplained).as("jobs that ran more than once though no runner running them was killed").isEmpty();
        return report;
    }

    long count(String sql) {
        return query(c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    void execute(String sql) {
        query(c -> {
            try (Statement st = c.createStatement()) {
                st.execute(sql);
            }
            return null;
        });
    }

    String jobsTable() {
        return jobs;
    }

    String recordTable() {
        return table;
    }

    /** A new connection to the scenario's database (the caller closes it). */
    Connection connect() throws SQLException {
        return DriverManager.getConnection(recordUrl);
    }

    interface SqlWork<T> {
        T apply(Connection c) throws SQLException;
    }

    <T> T query(SqlWork<T> work) {
        try (Connection c = connect()) {
            return work.apply(c);
        } catch (SQLException e) {
            throw new IllegalStateException(scenario + ": " + e.getMessage(), e);
        }
    }

    /** How many times {@code text} occurs in a runner's {@code output}. */
    static int lines(String output, String text) {
        int n = 0;
        for (int i = output.indexOf(text); i >= 0; i = output.indexOf(text, i + 1)) {
            n++;
        }
        return n;
    }

    @Override
    public void close() {
        if (feeder != null) {
            feeder.shutdownNow();
        }
        synchronized (processes) {
            processes.forEach(RunnerProcess::close);
        }
        if (ownSchemaOnSharedServer) {
            TestDatabase.dropSchema(settings.schema());
        }
    }

    private static String withCredentials(DatabaseSettings s) {
        StringBuilder url = new StringBuilder(s.jdbcUrl());
        char sep = s.jdbcUrl().contains("?") ? '&' : '?';
        if (s.user() != null && !s.jdbcUrl().contains("user=")) {
            url.append(sep).append("user=").append(URLEncoder.encode(s.user(), StandardCharsets.UTF_8));
            sep = '&';
        }
        if (s.password() != null) {
            url.append(sep).append("password=").append(URLEncoder.encode(s.password(), StandardCharsets.UTF_8));
        }
        return url.toString();
    }
}
