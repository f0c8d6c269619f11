package io.backtick.runner.engine;

import io.backtick.runner.config.Durations;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.lifecycle.Service;
import io.backtick.runner.maintenance.Maintenance;
import io.backtick.runner.plugin.WorkerDefinition;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.JobQueue;
import io.backtick.runner.queue.MaintenanceQueue;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.queue.RunnerRegistry;
import io.backtick.runner.queue.ScheduleQueue;
import io.backtick.runner.schedule.ScheduleSpec;
import io.backtick.runner.schedule.Scheduler;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One runner: the producer that claims jobs, the executor that runs them, the completer that
 * writes their outcomes and the stager that makes due jobs available, over one queue. Started
 * and stopped in order; stop lets running jobs finish within the shutdown grace.
 */
public final class Runner implements Service {

    private static final Logger log = LoggerFactory.getLogger(Runner.class);

    private final RunnerSettings settings;
    private final QueueDatabase database;
    private final WorkerRegistry workers;
    private final DatabaseHealth health = new DatabaseHealth();
    private final Completer completer;
    private final JobExecutor executor;
    private final Producer producer;
    private final Stager stager;
    private final Heartbeat heartbeat;
    private final Scheduler scheduler;
    private final Maintenance maintenance;
    private final Notifier notifier;
    private final List<ScheduleSpec> schedules;
    private final CompletableFuture<String> idTaken = new CompletableFuture<>();
    private boolean started;
    private boolean stopped;

    public Runner(RunnerSettings settings, QueueDatabase database, WorkerRegistry workers) {
        this(settings, database, workers, Clock.systemUTC(), new SimpleMeterRegistry());
    }

    public Runner(RunnerSettings settings, QueueDatabase database, WorkerRegistry workers, Clock clock,
                  MeterRegistry meters) {
        if (workers.isEmpty()) {
            throw new IllegalArgumentException("a runner needs at least one worker");
        }
        this.settings = settings;
        this.database = database;
        this.workers = workers;
        JobQueue queue = database.jobs();
        RunnerMetrics metrics = new RunnerMetrics(meters);
        HeldJobs held = new HeldJobs();
        this.completer = new Completer(queue, health, Duration.ofSeconds(10), held, this::retriesDueIn);
        this.executor = new JobExecutor(workers, completer, new Backoff(settings.retryBase()),
                settings.defaultTimeout(), settings.threads(), clock, metrics);
        Wakeup wakeup = new Wakeup();
        this.producer = new Producer(database.jobsForProducer(), executor, health, settings.runnerId(), workers.names(),
                settings.threads(), settings.claimBatch(), settings.pollInterval(), wakeup, metrics,
                completer::pendingCount, held);
        metrics.gauge("backtick.jobs.running", "Jobs running now", executor::runningCount);
        metrics.gauge("backtick.threads.lost", "Threads held by timed-out jobs that ignore interruption",
                executor::lostThreads);
        metrics.gauge("backtick.outcomes.pending", "Outcomes waiting to be written", completer::pendingCount);
        metrics.gauge("backtick.database.lost", "1 while the database cannot be reached", () -> health.isLost() ? 1 : 0);
        this.stager = new Stager(queue, health, settings.pollInterval(), producer::wakeFrom);
        this.heartbeat = new Heartbeat(database.runners(), new RunnerRegistry.RunnerInfo(settings.runnerId(),
                UUID.randomUUID().toString(), host(), ProcessHandle.current().pid(), version(), List.of(workers.names())),
                health, idTaken::complete);
        // Invalid schedules fail here, before anything starts, with the schedule's name.
        this.schedules = workers.schedules().stream()
                .map(s -> ScheduleSpec.of(s.name(), s.schedule(), settings.scheduleZone()))
                .toList();
        this.notifier = new Notifier(database.settings(), producer, stager::dueAt);
        this.maintenance = new Maintenance(database.maintenance(), executor, held, health, settings.runnerId(),
                settings.retainCompleted(), settings.retainDiscarded());
        metrics.gauge("backtick.queue.available",
                "Jobs due and waiting to be claimed across the queue, as last read (every 15 s while metrics are read)",
                () -> queueDepth(MaintenanceQueue.Depth::available));
        metrics.gauge("backtick.queue.lag.seconds",
                "How long the job that fell due first has waited to be claimed, as last read (0 if none waits)",
                () -> queueDepth(MaintenanceQueue.Depth::lagSeconds));
        metrics.gauge("backtick.database.cleanup.held.seconds",
                "How long a transaction left open has kept PostgreSQL from cleaning up after claims (0 if none)",
                () -> maintenance.cleanupHeldBack().toSeconds());
        this.scheduler = new Scheduler(database.schedules(), workers, health,
                min(settings.pollInterval(), Duration.ofSeconds(1)), producer::wakeFrom);
    }

    /** A figure of the queue's depth as last read, or NaN before the first reading (no figure rather than a false 0). */
    private double queueDepth(java.util.function.ToDoubleFunction<MaintenanceQueue.Depth> figure) {
        MaintenanceQueue.Depth depth = maintenance.depth();
        return depth == null ? Double.NaN : figure.applyAsDouble(depth);
    }

    /** The completer's word that retries it wrote fall due in {@code delay}; it writes only once started. */
    private void retriesDueIn(Duration delay) {
        stager.dueIn(delay);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    static String host() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "unknown-host";
        }
    }

    static String version() {
        String version = Runner.class.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }

    @Override
    public synchronized void start() {
        if (started) {
            return;
        }
        started = true;
        // Refuses to start (ConfigException), having written nothing, while another live process holds this runner id.
        heartbeat.register();
        database.jobs().registerWorkers(workers.all().stream().map(WorkerDefinition::defaults).toList());
        // Before claiming: jobs still held under this id belong to an earlier process that died.
        maintenance.handBackFromEarlierStart();
        if (!schedules.isEmpty()) {
            Instant now = database.schedules().now();
            database.schedules().declare(schedules.stream()
                    .map(s -> new ScheduleQueue.Declared(s.name(), s.kindName(), s.spec(), s.zone().getId(),
                            s.missedName(), s.firstTick(now).orElse(now.plus(Duration.ofDays(36_500)))))
                    .toList());
        }
        completer.start();
        executor.start();
        stager.start();
        producer.start();
        notifier.start();
        heartbeat.start();
        maintenance.start();
        if (!schedules.isEmpty()) {
            scheduler.start();
            log.info("Schedules: {}", schedules.stream().map(Scheduler::describe).collect(Collectors.joining(", ")));
        }
        log.info("Runner {} started: {} thread(s), polling every {}, serving {}", settings.runnerId(),
                settings.threads(), Durations.format(settings.pollInterval()),
                workers.all().stream().map(WorkerDefinition::name).collect(Collectors.joining(", ")));
    }

    /**
     * Stops claiming, lets running jobs finish within the shutdown grace, hands back those that do
     * not, and writes every outcome. Safe to call twice or before start.
     */
    @Override
    public void stop() {
        synchronized (this) {
            if (!started || stopped) {
                return;
            }
            stopped = true;
        }
        log.info("Runner {} stopping: {} job(s) running, waiting up to {} for them", settings.runnerId(),
                executor.runningCount(), Durations.format(settings.shutdownGrace()));
        scheduler.stop();
        maintenance.stop();
        notifier.stop();
        producer.stop();
        stager.stop();
        executor.requestStop();
        executor.stop(settings.shutdownGrace());
        completer.stop();
        heartbeat.stop();
        log.info("Runner {} stopped", settings.runnerId());
    }

    public String runnerId() {
        return settings.runnerId();
    }

    /**
     * Completes, with a line that says why, if another process takes over this runner's id while
     * it runs: its running jobs are that process's to hand back, so this runner must stop.
     */
    public CompletableFuture<String> idTaken() {
        return idTaken;
    }

    public boolean databaseLost() {
        return health.isLost();
    }

    /**
     * What keeps this runner from doing its work now, in one line, or empty while it works: not
     * started or stopped, its database out of reach, or its id taken over by another process.
     */
    public Optional<String> problem() {
        synchronized (this) {
            if (!started) {
                return Optional.of("starting");
            }
            if (stopped) {
                return Optional.of("stopped");
            }
        }
        if (idTaken.isDone()) {
            return Optional.of(idTaken.getNow(""));
        }
        if (health.isLost()) {
            return Optional.of("the database cannot be reached");
        }
        return Optional.empty();
    }

    /** Threads held by timed-out jobs that ignore interruption. */
    public int lostThreads() {
        return executor.lostThreads();
    }

    /** Outcomes still waiting to be written (for tests and status). */
    public int pendingOutcomes() {
        return completer.pendingCount();
    }
}
