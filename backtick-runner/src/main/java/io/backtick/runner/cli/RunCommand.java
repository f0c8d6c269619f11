package io.backtick.runner.cli;

import io.backtick.runner.config.ConfigException;
import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.embedded.EmbeddedDatabase;
import io.backtick.runner.engine.Runner;
import io.backtick.runner.plugin.PluginLoader;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.QueueDatabase;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code backtick run}: loads the plugins and runs their workers' jobs until stopped. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run workers: load the plugin jars in --plugins, then claim jobs from the queue and run them "
            + "until stopped (SIGTERM or Ctrl-C stop it gracefully). With no database configured, starts an "
            + "embedded PostgreSQL in --data-dir."})
final class RunCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

    @Mixin
    DatabaseOptions database;

    @Option(names = "--plugins", paramLabel = "DIR",
            description = "Folder of plugin jars (each jar, or each sub-folder of jars, is one plugin). Env: BACKTICK_PLUGINS.")
    Path plugins;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "16",
            description = "How many jobs run at once (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--poll-interval", paramLabel = "DURATION", defaultValue = "1s", converter = DurationConverter.class,
            description = "How often to look for jobs when idle (default: ${DEFAULT-VALUE}).")
    Duration pollInterval;

    @Option(names = "--shutdown-grace", paramLabel = "DURATION", defaultValue = "30s", converter = DurationConverter.class,
            description = "How long running jobs may finish after SIGTERM before they are interrupted and handed back (default: ${DEFAULT-VALUE}).")
    Duration shutdownGrace;

    @Option(names = "--job-timeout", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long one attempt may run when its worker sets no timeout (default: no limit).")
    Duration jobTimeout;

    @Option(names = "--retry-base", paramLabel = "DURATION", defaultValue = "10s", converter = DurationConverter.class,
            description = "Delay before the first retry; it doubles with each attempt, randomised up to twice that (default: ${DEFAULT-VALUE}).")
    Duration retryBase;

    @Option(names = "--runner-id", paramLabel = "ID",
            description = "This runner's id, stored on the jobs it runs (default: host:pid:random).")
    String runnerId;

    @Option(names = "--retain-completed", paramLabel = "DURATION", defaultValue = "7d", converter = DurationConverter.class,
            description = "How long completed jobs are kept before they are pruned (default: ${DEFAULT-VALUE}).")
    Duration retainCompleted;

    @Option(names = "--retain-discarded", paramLabel = "DURATION", defaultValue = "30d", converter = DurationConverter.class,
            description = "How long discarded and cancelled jobs are kept (default: ${DEFAULT-VALUE}).")
    Duration retainDiscarded;

    @Option(names = "--schedule-zone", paramLabel = "ZONE", defaultValue = "UTC",
            description = "Time zone of cron schedules that name none, e.g. Europe/Berlin (default: ${DEFAULT-VALUE}).")
    String scheduleZone;

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics and the runner's health at /health (200 ok, else 503 and why) (default: off).")
    Integer metricsPort;

    @Option(names = "--no-migrate", description = "Do not create or update the queue schema at start.")
    boolean noMigrate;

    @Override
    public Integer call() throws InterruptedException {
        if (plugins == null) {
            throw new ConfigException("--plugins is required: the folder that holds your plugin jars (or set BACKTICK_PLUGINS)");
        }
        RunnerSettings settings = new RunnerSettings(runnerId != null ? runnerId : defaultRunnerId(), threads,
                pollInterval, retryBase, shutdownGrace, jobTimeout, RunnerSettings.DEFAULT_CLAIM_BATCH, zone(),
                retainCompleted, retainDiscarded);

        // Plugins first: a broken jar should stop start-up before anything touches a database.
        WorkerRegistry workers = new WorkerRegistry();
        new PluginLoader().load(plugins, workers);

        EmbeddedDatabase embedded = null;
        QueueDatabase queue = null;
        Runner runner = null;
        MetricsEndpoint metrics = null;
        CountDownLatch stop = new CountDownLatch(1);
        try {
            Optional<DatabaseSettings> configured = database.configured();
            DatabaseSettings target;
            if (configured.isPresent()) {
                target = configured.get();
            } else {
                EmbeddedDatabase[] startedHere = new EmbeddedDatabase[1];
                target = EmbeddedDatabase.findOrStart(database.dataDir(), e -> startedHere[0] = e)
                        .withSchema(database.schema());
                embedded = startedHere[0];
                if (embedded != null) {
                    log.info("No database configured: started an embedded PostgreSQL in {} ({}). To share one queue "
                            + "between runners on several machines, set BACKTICK_DATABASE_URL=jdbc:postgresql://HOST:5432/DB",
                            embedded.dataDir(), target.describe());
                }
            }
            queue = QueueDatabase.open(target, 4, "backtick-runner");
            if (!noMigrate) {
                int applied = queue.migrate();
                if (applied > 0) {
                    log.info("Migrated the queue schema {}: {} migration(s) applied", target.schema(), applied);
                }
            } else if (!queue.isMigrated()) {
                throw new ConfigException("the queue schema " + target.schema()
                        + " is not set up and --no-migrate was given; run 'backtick migrate' first");
            } else {
                int pending = queue.pendingMigrations();
                if (pending > 0) {
                    throw new ConfigException("the queue schema " + target.schema() + " lacks " + pending
                            + " migration(s) this runner needs and --no-migrate was given; run 'backtick migrate' first");
                }
            }
            io.micrometer.core.instrument.MeterRegistry meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
            if (metricsPort != null) {
                metrics = new MetricsEndpoint(metricsPort);
                meters = metrics.registry();
                log.info("Metrics at http://localhost:{}/metrics, health at /health", metrics.port());
            }
            runner = new Runner(settings, queue, workers, java.time.Clock.systemUTC(), meters);
            if (metrics != null) {
                metrics.health(runner::problem);
            }
            Signals.onStop(stop::countDown);
            runner.start();
            runner.idTaken().thenRun(stop::countDown);
            log.info("Queue: {}", target.describe());
            stop.await();
            if (runner.idTaken().isDone()) {
                throw new ConfigException(runner.idTaken().getNow(""));
            }
            return 0;
        } finally {
            if (runner != null) {
                runner.stop();
            }
            if (queue != null) {
                queue.close();
            }
            if (metrics != null) {
                metrics.close();
            }
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    private java.time.ZoneId zone() {
        try {
            return java.time.ZoneId.of(scheduleZone);
        } catch (java.time.DateTimeException e) {
            throw new ConfigException("--schedule-zone '" + scheduleZone + "' is not a time zone: use a name such as UTC or Europe/Berlin");
        }
    }

    private static String defaultRunnerId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "unknown-host";
        }
        return host + ":" + ProcessHandle.current().pid() + ":" + UUID.randomUUID().toString().substring(0, 8);
    }
}
