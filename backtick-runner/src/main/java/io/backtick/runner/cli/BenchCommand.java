package io.backtick.runner.cli;

import ch.qos.logback.classic.Level;
import io.backtick.api.QueueSchema;
import io.backtick.runner.bench.Bench;
import io.backtick.runner.bench.BenchOptions;
import io.backtick.runner.bench.BenchReport;
import io.backtick.runner.bench.Cleanup;
import io.backtick.runner.bench.Progress;
import io.backtick.runner.config.ConfigException;
import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.embedded.EmbeddedDatabase;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code backtick bench}: how fast this database and runner enqueue and run no-op jobs. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure throughput and latency with a built-in no-op worker and an in-process runner.",
            "",
            "Burn-down (default): enqueue --jobs in bulk, then run them all; reports enqueue and process jobs/s. "
                    + "Continuous (--rate and/or --duration): enqueue single jobs at --rate for --duration while the "
                    + "runner works; reports throughput and the latency from enqueue commit to job start. "
                    + "Steady (--depth): fill the queue with --depth jobs, then keep it that deep for --duration "
                    + "while the runners work; reports the jobs/s run at that depth.",
            "",
            "It works in a schema of its own, created fresh and dropped at the end, also on Ctrl-C, and refuses "
                    + "any existing schema it did not create. With no database configured, it uses the embedded "
                    + "PostgreSQL as 'run' does.",
            ""})
final class BenchCommand implements Callable<Integer> {

    static final String DEFAULT_SCHEMA = "backtick_bench";
    static final int EXIT_INTERRUPTED = 130;
    /** How long Ctrl-C waits for the bench to stop between two steps before cleaning up under it. */
    private static final Duration STOP_WAIT = Duration.ofSeconds(10);

    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Option(names = "--jobs", paramLabel = "N",
            description = "Burn-down: how many jobs to enqueue and run (default: 100000).")
    Integer jobs;

    @Option(names = "--backlog", paramLabel = "M", defaultValue = "0",
            description = "Burn-down: M more jobs already waiting beneath the timed ones (enqueued first, untimed, "
                    + "one priority lower), to compare the claim rate at a large backlog with a small one (default: 0).")
    int backlog;

    @Option(names = "--history", paramLabel = "N", defaultValue = "0",
            description = "N jobs completed over the past day already in the table (inserted first, untimed), "
                    + "as a queue that keeps finished jobs for retention holds them: the runners then work on a table "
                    + "of that size (default: 0).")
    int history;

    @Option(names = "--rate", paramLabel = "JOBS_PER_SECOND",
            description = "Continuous: jobs enqueued per second, one per transaction (default: 1000).")
    Double rate;

    @Option(names = "--duration", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Continuous: how long to enqueue; steady: how long to time the runners, e.g. 30s (default: 10s).")
    Duration duration;

    @Option(names = "--in", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Continuous: enqueue each job to run this long after its enqueue, as `backtick enqueue --in` "
                    + "does, and time it from then to its start: how late scheduled jobs start, e.g. 500ms.")
    Duration scheduledIn;

    @Option(names = "--depth", paramLabel = "N",
            description = "Steady: jobs kept waiting in the queue while the runners work (enqueued first, untimed, "
                    + "then topped up in bulk as the runners claim them), to measure the rate at a given depth.")
    Integer depth;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "16",
            description = "The runner's worker threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--runners", paramLabel = "N", defaultValue = "1",
            description = "How many runners share the queue, each with its own connection pool, producer, completer "
                    + "and --threads threads (default: ${DEFAULT-VALUE}).")
    int runners;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "0",
            description = "Run N jobs first, untimed, so the timed run meets a JVM that has compiled its hot path, as a "
                    + "long-lived runner does. Burn-down and steady: in bulk, with runners that then stop; continuous: "
                    + "the first N jobs of the stream, at the rate (or --warmup-rate), to the same runner (default: 0).")
    int warmup;

    @Option(names = "--warmup-rate", paramLabel = "R",
            description = "Continuous: enqueue the --warmup jobs at R a second instead of at the --rate, so a run at a "
                    + "low rate meets a runner that has run thousands of jobs, e.g. --rate 2 --warmup 20000 --warmup-rate 500.")
    Double warmupRate;

    @Option(names = "--json", description = "Print the figures as one JSON object on stdout (no progress line unless on a terminal).")
    boolean json;

    @Option(names = "--no-analyze",
            description = "Burn-down and steady: do not VACUUM (ANALYZE) the jobs table between enqueue and processing; the runner's "
                    + "statements are then planned on whatever statistics autovacuum has gathered (by default the "
                    + "bench vacuums and analyzes, as autovacuum would within a minute, so runs compare).")
    boolean noAnalyze;

    @Option(names = "--keep", description = "Leave the bench schema in place at the end, for inspection.")
    boolean keep;

    /**
     * Gives the shared --schema option the bench's own description: here it defaults to
     * backtick_bench and is read from the command line only.
     */
    static void describeSchemaOption(CommandLine root) {
        CommandSpec bench = root.getSubcommands().get("bench").getCommandSpec();
        OptionSpec shared = bench.findOption("--schema");
        bench.remove(shared);
        bench.addOption(OptionSpec.builder(shared)
                .description("The bench's own schema (default: " + DEFAULT_SCHEMA + "), created and dropped by it; "
                        + "from this flag only, never BACKTICK_SCHEMA.")
                .build());
    }

    @Override
    public Integer call() throws InterruptedException {
        BenchOptions options = options();
        String schema = schema();
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.backtick");
        Level level = logger.getLevel();
        if (level == null || level.isGreaterOrEqual(Level.INFO)) {
            // The runner's start and stop lines would only break up the progress line and the figures.
            logger.setLevel(Level.WARN);
        }
        Cleanup cleanup = new Cleanup();
        java.util.concurrent.atomic.AtomicBoolean interrupted = new java.util.concurrent.atomic.AtomicBoolean();
        Thread hook = new Thread(() -> {
            interrupted.set(true);
            cleanup.requestStop();
            try {
                if (cleanup.awaitDone(STOP_WAIT)) {
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            cleanup.run();
        }, "backtick-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try (Progress progress = Progress.on(System.err, json)) {
            DatabaseSettings target = target(schema, cleanup);
            BenchReport report = new Bench(target, options, progress, cleanup).run();
            System.out.print(json ? report.toJson() + System.lineSeparator() : report.toText());
            System.out.flush();
            if (!report.complete()) {
                System.err.println("backtick: only " + report.completed() + " of " + report.timedJobs()
                        + " bench jobs completed");
                return Main.EXIT_FAILURE;
            }
            return 0;
        } catch (RuntimeException e) {
            if (interrupted.get()) {
                System.err.println("backtick: bench interrupted; its schema " + schema
                        + (keep ? " is kept" : " is dropped"));
                return EXIT_INTERRUPTED;
            }
            throw e;
        } finally {
            cleanup.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // The JVM is shutting down: the hook has run or is running.
            }
            logger.setLevel(level);
        }
    }

    private BenchOptions options() {
        boolean steady = depth != null;
        if (steady) {
            refuse(rate != null, "--rate is for continuous mode; steady mode (--depth) enqueues as fast as the runners claim");
            refuse(jobs != null, "--jobs is for burn-down mode; steady mode (--depth) runs for --duration");
            refuse(backlog > 0, "--backlog is for burn-down mode; steady mode's --depth is the backlog");
            refuse(scheduledIn != null, "--in is for continuous mode (--rate, --duration), not with --depth");
            refuse(warmupRate != null, "--warmup-rate is for continuous mode (--rate, --duration); steady mode warms up in bulk");
            return new BenchOptions(BenchOptions.Mode.STEADY, 0, 0, threads, runners, warmup, 0, 0,
                    duration != null ? duration : Duration.ofSeconds(10), null, depth, history, keep, !noAnalyze);
        }
        boolean continuous = rate != null || duration != null;
        refuse(continuous && jobs != null, "--jobs is for burn-down mode; continuous mode "
                + "(--rate, --duration) enqueues rate × duration jobs");
        refuse(continuous && backlog > 0, "--backlog is for burn-down mode, not with --rate or --duration");
        refuse(!continuous && scheduledIn != null, "--in is for continuous mode: give --rate or --duration with it");
        refuse(!continuous && warmupRate != null, "--warmup-rate is for continuous mode: give --rate or --duration with it "
                + "(burn-down warms up in bulk)");
        refuse(warmupRate != null && warmup == 0, "--warmup-rate needs --warmup N: the number of jobs to warm up with");
        return new BenchOptions(continuous ? BenchOptions.Mode.CONTINUOUS : BenchOptions.Mode.BURN_DOWN,
                jobs != null ? jobs : 100_000, backlog, threads, runners, warmup, rate != null ? rate : 1_000,
                continuous && warmupRate != null ? warmupRate : 0,
                duration != null ? duration : Duration.ofSeconds(10), continuous ? scheduledIn : null, 0, history, keep, !noAnalyze);
    }

    private void refuse(boolean refused, String why) {
        if (refused) {
            throw new ParameterException(spec.commandLine(), why);
        }
    }

    /**
     * The schema from the command line only: a BACKTICK_SCHEMA set for production runners must
     * never become the bench's.
     */
    private String schema() {
        if (!spec.commandLine().getParseResult().hasMatchedOption("--schema")) {
            return DEFAULT_SCHEMA;
        }
        try {
            return QueueSchema.require(database.schema());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--schema: " + e.getMessage());
        }
    }

    /** The configured database, else the embedded one as 'run' finds or starts it (stopped again at the end). */
    private DatabaseSettings target(String schema, Cleanup cleanup) {
        Optional<DatabaseSettings> configured = database.configured();
        if (configured.isPresent()) {
            return configured.get().withSchema(schema);
        }
        return EmbeddedDatabase.findOrStart(database.dataDir(),
                        started -> cleanup.add("stop the embedded PostgreSQL", started::close))
                .withSchema(schema);
    }
}
