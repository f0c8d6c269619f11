package io.backtick.runner.bench;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobRequest;
import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.engine.Runner;
import io.backtick.runner.lifecycle.NamedThreadFactory;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.BenchSchema;
import io.backtick.runner.queue.QueueDatabase;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One run of {@code backtick bench}, like {@code river bench}: a fresh schema of its own, the
 * real client to enqueue, an in-process {@link Runner} serving the built-in no-op worker, and the
 * clock around them.
 * <ul>
 *   <li><b>Burn-down</b>: enqueues the backlog (untimed, one priority lower, so it waits beneath),
 *       then the timed jobs in bulk (enqueue jobs/s), then starts the runner and times it until
 *       every timed job is completed in the database (process jobs/s).</li>
 *   <li><b>Continuous</b>: starts the runner, enqueues single jobs, each its own transaction, on
 *       a fixed schedule of {@code rate} per second for {@code duration}, and times each job from
 *       its enqueue's commit to its start.</li>
 *   <li><b>Steady</b>: fills the queue with {@code depth} jobs (untimed), starts the runner, and
 *       for {@code duration} tops the queue up in bulk as the runner claims, so the claims always
 *       meet about {@code depth} waiting jobs; times the jobs started meanwhile.</li>
 * </ul>
 * Everything it sets up is registered with the {@link Cleanup}, which runs at the end or on Ctrl-C.
 */
public final class Bench {

    /** Jobs per bulk enqueue call (one transaction each). */
    static final int BULK_BATCH = 10_000;
    /**
     * Timed jobs run at this priority, the backlog one lower: the claim takes the timed ones first.
     * Public, as is {@link #WARMUP_PRIORITY}, for reading a schema kept with {@code --keep}.
     */
    public static final int TIMED_PRIORITY = 0;
    static final int BACKLOG_PRIORITY = -1;
    /** The warm-up's jobs run at this priority. */
    public static final int WARMUP_PRIORITY = 1;
    /** Completed jobs of the history ({@code --history}) carry this priority: they never run. */
    static final int HISTORY_PRIORITY = -2;
    /** History jobs per insert statement. */
    static final int HISTORY_BATCH = 1_000_000;
    /** The warm-up runs in this many rounds, each with runners of its own (see {@link #warmUp}). */
    static final int WARMUP_ROUNDS = 2;
    /** The bench gives up when no timed job has started or finished for this long. */
    private static final Duration STALL = Duration.ofSeconds(60);

    private final DatabaseSettings settings;
    private final BenchOptions options;
    /** Continuous mode: how long after its enqueue each job is to run ({@code --in}); null for at once. */
    private final Duration scheduledIn;
    private final Progress progress;
    private final Cleanup cleanup;
    private volatile boolean dropped;
    /** The untimed enqueue beneath the timed jobs: burn-down's backlog, or steady mode's fill. */
    private BenchReport.Phase backlogPhase;
    /** The untimed insert of completed jobs before everything else ({@code --history}). */
    private BenchReport.Phase historyPhase;
    private BenchReport.DepthHeld depthHeld;
    /** Whether the timed burn-down started right after a checkpoint (see {@link BenchSchema#checkpoint}). */
    private boolean checkpointed;
    /** Continuous mode: when the first timed job was due and when the last one was completed, in nanoTime. */
    private long timedFromNanos;
    private long timedToNanos;

    public Bench(DatabaseSettings settings, BenchOptions options, Progress progress, Cleanup cleanup) {
        this.settings = settings;
        this.options = options;
        this.scheduledIn = options.scheduledIn();
        this.progress = progress;
        this.cleanup = cleanup;
    }

    /** Runs the bench, cleans up, and returns the figures. */
    public BenchReport run() throws InterruptedException {
        boolean continuous = options.mode() == BenchOptions.Mode.CONTINUOUS;
        LatencyRecorder latencies = new LatencyRecorder(continuous ? options.continuousJobs() : 0);
        BenchWorker worker = new BenchWorker(continuous ? latencies : null);
        int enqueuers = continuous ? enqueuers(options.rate()) : 1;
        GcPauses gc = continuous ? GcPauses.listen() : null;
        try {
            BenchSchema schema = BenchSchema.create(settings);
            cleanup.add("release the bench schema", schema::close);
            if (!options.keep()) {
                cleanup.add("drop the bench schema " + schema.name(), () -> dropped = schema.drop());
            }
            QueueDatabase migrator = QueueDatabase.open(settings, 1, "backtick-bench-migrate");
            try {
                migrator.migrate();
            } finally {
                migrator.close();
            }
            if (options.history() > 0) {
                insertHistory(schema);
            }
            QueueDatabase clientDatabase = QueueDatabase.open(settings, enqueuers, "backtick-bench-client");
            cleanup.add("close the client's pool", clientDatabase::close);
            BacktickClient client = BacktickClient.create(clientDatabase.dataSource()).withSchema(settings.schema());

            if (options.mode() != BenchOptions.Mode.CONTINUOUS && options.warmup() > 0) {
                warmUp(client, schema, worker);
            }
            Runners runner = runners("run", worker);
            BenchReport.Environment environment = BenchReport.Environment.here(schema.serverVersion(), settings.describe()
                    .replaceFirst(" \\(schema .*\\)$", ""));

            BenchReport.Phase enqueue;
            BenchReport.Phase process;
            if (continuous) {
                BenchReport.Phase[] phases = continuous(client, runner, worker, latencies, schema, enqueuers);
                enqueue = phases[0];
                process = phases[1];
            } else if (options.mode() == BenchOptions.Mode.STEADY) {
                BenchReport.Phase[] phases = steady(client, runner, worker, schema);
                enqueue = phases[0];
                process = phases[1];
            } else {
                enqueue = burnDownEnqueue(client, schema);
                process = burnDownProcess(runner, worker, schema);
            }
            runner.stop();
            long completed = schema.completed(TIMED_PRIORITY);
            progress.close();
            cleanup.run();
            return new BenchReport(options, historyPhase, backlogPhase, depthHeld, checkpointed, enqueue, process, completed,
                    continuous ? latencies.summarize((int) enqueue.jobs()) : null,
                    continuous ? latencies.gcEffect((int) enqueue.jobs(), gc.between(timedFromNanos, timedToNanos)) : null,
                    settings.schema(), dropped, environment);
        } finally {
            if (gc != null) {
                gc.close();
            }
            progress.close();
            cleanup.run();
        }
    }

    /**
     * Fills the table with {@code --history} completed jobs, untimed, then vacuums and analyzes it
     * as autovacuum would after such an insert: the run then meets a table that holds a retention's
     * worth of finished jobs, mostly all-visible, as a queue that has run for a day does.
     */
    private void insertHistory(BenchSchema schema) {
        long total = options.history();
        AtomicLong inserted = new AtomicLong();
        progress.show(() -> String.format(Locale.ROOT, "history: %,d of %,d completed jobs inserted", inserted.get(), total));
        long start = System.nanoTime();
        for (long from = 1; from <= total; from += HISTORY_BATCH) {
            abortIfCleaningUp();
            long to = Math.min(total, from + HISTORY_BATCH - 1);
            schema.insertHistory(BenchWorker.NAME, HISTORY_PRIORITY, from, to, total);
            inserted.set(to);
        }
        progress.show(() -> "history: vacuum (analyze)");
        schema.analyze();
        historyPhase = BenchReport.Phase.of(total, System.nanoTime() - start);
    }

    /**
     * Runs the warm-up jobs in {@link #WARMUP_ROUNDS} rounds, each with runners of its own that
     * then stop: the JIT compiles the hot path on these, and the timed run meets a warm JVM, as a
     * long-lived runner would. One round is not enough: a runner's first jobs take paths its steady
     * state never does (its pool starting threads), so the JIT compiles the steady state without
     * them, and the next runner to start throws that code away (deoptimises it) and has it
     * recompiled, which took the C2 compiler half a core for the first second of a timed run. The
     * second round's runners pay for that instead.
     */
    private void warmUp(BacktickClient client, BenchSchema schema, BenchWorker worker) throws InterruptedException {
        AtomicLong enqueued = new AtomicLong();
        progress.show(() -> String.format(Locale.ROOT, "warm-up: %,d of %,d jobs enqueued, %,d run", enqueued.get(),
                options.warmup(), worker.warmupStarted()));
        for (int round = 0; round < WARMUP_ROUNDS; round++) {
            int jobs = options.warmup() / WARMUP_ROUNDS + (round < options.warmup() % WARMUP_ROUNDS ? 1 : 0);
            enqueueBulk(client, jobs, BenchWorker.WARMUP_ARGS, WARMUP_PRIORITY, enqueued);
            Runners warmup = runners("warmup" + (round + 1) + "-", worker);
            try {
                warmup.start();
                while (schema.anyUnfinished(WARMUP_PRIORITY)) {
                    abortIfCleaningUp();
                    Thread.sleep(50);
                }
            } finally {
                warmup.stop();
            }
        }
    }

    /** The runners of one phase, each with its own pool, registered with the cleanup. */
    private Runners runners(String phase, BenchWorker worker) {
        List<Runner> runners = new ArrayList<>();
        List<MeterRegistry> registries = new ArrayList<>();
        for (int i = 1; i <= options.runners(); i++) {
            QueueDatabase database = QueueDatabase.open(settings, 4, "backtick-bench-" + phase + "-" + i);
            cleanup.add("close the pool of " + phase + " runner " + i, database::close);
            WorkerRegistry workers = new WorkerRegistry();
            worker.register(workers);
            SimpleMeterRegistry meters = new SimpleMeterRegistry();
            Runner runner = new Runner(runnerSettings(phase + i), database, workers, Clock.systemUTC(), meters);
            cleanup.add("stop " + phase + " runner " + i, runner::stop);
            runners.add(runner);
            registries.add(meters);
        }
        return new Runners(runners, registries);
    }

    /** Several runners started and stopped together, as one, with their meters. */
    private record Runners(List<Runner> all, List<MeterRegistry> meters) {

        /** Jobs the runners have claimed so far, from their own counters: no query. */
        long claimed() {
            double claimed = 0;
            for (MeterRegistry registry : meters) {
                Counter counter = registry.find("backtick.jobs.claimed").counter();
                claimed += counter == null ? 0 : counter.count();
            }
            return (long) claimed;
        }

        void start() {
            all.forEach(Runner::start);
        }

        void stop() {
            all.parallelStream().forEach(Runner::stop);
        }

        int pendingOutcomes() {
            return all.stream().mapToInt(Runner::pendingOutcomes).sum();
        }
    }

    private RunnerSettings runnerSettings(String name) {
        String id = "bench:" + ProcessHandle.current().pid() + ":" + name + ":"
                + Long.toString(System.nanoTime() & 0xffffff, 36);
        // No-op jobs finish at once; a short grace keeps Ctrl-C snappy if something hangs.
        return RunnerSettings.defaults(id).withThreads(options.threads()).withShutdownGrace(Duration.ofSeconds(5));
    }

    private BenchReport.Phase burnDownEnqueue(BacktickClient client, BenchSchema schema) {
        AtomicLong enqueued = new AtomicLong();
        if (options.backlog() > 0) {
            progress.show(() -> String.format(Locale.ROOT, "backlog: enqueued %,d of %,d jobs", enqueued.get(),
                    options.backlog()));
            long start = System.nanoTime();
            enqueueBulk(client, options.backlog(), BenchWorker.BACKLOG_ARGS, BACKLOG_PRIORITY, enqueued);
            backlogPhase = BenchReport.Phase.of(options.backlog(), System.nanoTime() - start);
        }
        AtomicLong timed = new AtomicLong();
        long start = System.nanoTime();
        progress.show(() -> String.format(Locale.ROOT, "enqueue: %,d of %,d jobs, %s", timed.get(), options.jobs(),
                rate(timed.get(), start)));
        enqueueBulk(client, options.jobs(), BenchWorker.TIMED_ARGS, TIMED_PRIORITY, timed);
        BenchReport.Phase phase = BenchReport.Phase.of(options.jobs(), System.nanoTime() - start);
        settleBeforeTiming(schema);
        return phase;
    }

    /**
     * After the untimed enqueue, before the clock runs: {@code VACUUM (ANALYZE)} (unless
     * {@code --no-analyze}) and a {@code CHECKPOINT}. Autovacuum vacuums and analyzes the table
     * within a minute of such an insert; doing it now, untimed, makes every run plan its
     * statements on the same statistics (every job available, none running) instead of on
     * whatever autovacuum had got to, which swings results tenfold, and keeps the warm-up's dead
     * rows from being vacuumed inside the timed run. The checkpoint keeps one set off by earlier
     * WAL out of it.
     */
    private void settleBeforeTiming(BenchSchema schema) {
        if (options.analyze()) {
            progress.show(() -> "vacuum (analyze)");
            schema.analyze();
        }
        progress.show(() -> "checkpoint");
        checkpointed = schema.checkpoint();
    }

    private void enqueueBulk(BacktickClient client, int count, String args, int priority, AtomicLong enqueued) {
        for (int from = 0; from < count; from += BULK_BATCH) {
            abortIfCleaningUp();
            int n = Math.min(BULK_BATCH, count - from);
            List<JobRequest> batch = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                batch.add(JobRequest.ofJson(BenchWorker.NAME, args).withPriority(priority));
            }
            client.enqueueAll(batch);
            enqueued.addAndGet(n);
        }
    }

    private BenchReport.Phase burnDownProcess(Runners runner, BenchWorker worker, BenchSchema schema)
            throws InterruptedException {
        long start = System.nanoTime();
        progress.show(() -> String.format(Locale.ROOT, "process: %,d of %,d jobs started, %s", worker.timedStarted(),
                options.jobs(), rate(worker.timedStarted(), start)));
        runner.start();
        awaitCompleted(options.jobs(), runner, worker, schema);
        return BenchReport.Phase.of(options.jobs(), System.nanoTime() - start);
    }

    /**
     * Steady mode. Fills the queue with {@code depth} jobs (untimed, then analyzed and checkpointed
     * as a burn-down's enqueue is), starts the runners and, for {@code duration}, tops the queue up
     * in bulk whenever their claims have taken it a tenth of the depth (at most 1,000 jobs) below
     * it, {@link #BULK_BATCH} jobs at most per insert. The depth it keeps is what the database holds
     * waiting, enqueued less claimed (from the runners' claim counters, so no query competes with
     * the claims): jobs a runner has claimed ahead of its threads do not count as waiting. Returns
     * the top-ups as the enqueue phase and, as the process phase, the jobs started between the
     * runners' start and the end of the duration.
     */
    private BenchReport.Phase[] steady(BacktickClient client, Runners runner, BenchWorker worker, BenchSchema schema) {
        int depth = options.depth();
        AtomicLong enqueued = new AtomicLong();
        progress.show(() -> String.format(Locale.ROOT, "fill: enqueued %,d of %,d jobs", enqueued.get(), depth));
        long fillStart = System.nanoTime();
        enqueueBulk(client, depth, BenchWorker.TIMED_ARGS, TIMED_PRIORITY, enqueued);
        backlogPhase = BenchReport.Phase.of(depth, System.nanoTime() - fillStart);
        settleBeforeTiming(schema);

        int topUpFrom = Math.max(1, Math.min(1_000, depth / 10));
        long minWaiting = depth;
        double sumWaiting = 0;
        long samples = 0;
        long start = System.nanoTime();
        long end = start + options.duration().toNanos();
        progress.show(() -> String.format(Locale.ROOT, "steady: %,d started, %s, %,d waiting", worker.timedStarted(),
                rate(worker.timedStarted(), start), enqueued.get() - runner.claimed()));
        runner.start();
        long now;
        while ((now = System.nanoTime()) < end) {
            abortIfCleaningUp();
            long waiting = enqueued.get() - runner.claimed();
            minWaiting = Math.min(minWaiting, waiting);
            sumWaiting += waiting;
            samples++;
            long deficit = depth - waiting;
            if (deficit >= topUpFrom) {
                enqueueBulk(client, (int) Math.min(deficit, BULK_BATCH), BenchWorker.TIMED_ARGS, TIMED_PRIORITY, enqueued);
            } else {
                LockSupport.parkNanos(200_000); // pacing the feeder's look at the counters, not waiting for anything
            }
        }
        long started = worker.timedStarted();
        depthHeld = new BenchReport.DepthHeld(Math.max(0, minWaiting), samples == 0 ? depth : Math.round(sumWaiting / samples));
        return new BenchReport.Phase[] {
            BenchReport.Phase.of(enqueued.get() - depth, now - start),
            BenchReport.Phase.of(started, now - start)
        };
    }

    /**
     * Returns the enqueue phase and the process phase (from the first timed job's due time to the
     * last completion). With {@code --warmup N} the stream starts N jobs earlier: the same runner
     * runs them at the same rate, untimed and at a priority of their own, so the timed jobs meet a
     * runner whose JVM has compiled their path, as a long-lived runner's has. (Without one, the
     * first jobs of a run meet the interpreter: a run at 500 jobs/s on 2026-11-29 at 17:37 had 30
     * of its 50 slowest jobs among the first 100.)
     */
    private BenchReport.Phase[] continuous(BacktickClient client, Runners runner, BenchWorker worker, LatencyRecorder latencies,
                               BenchSchema schema, int enqueuers) throws InterruptedException {
        int total = options.continuousJobs();
        int warmup = options.warmup();
        runner.start();
        // The runner's LISTEN connection opens on its own thread: give it a moment, so the first
        // jobs are not timed against the poll interval.
        Thread.sleep(500);
        AtomicLong next = new AtomicLong();
        AtomicLong enqueued = new AtomicLong();
        AtomicLong warmedUp = new AtomicLong();
        double intervalNanos = 1e9 / options.rate();
        double warmupIntervalNanos = 1e9 / options.warmupRateOrRate();
        long firstDue = System.nanoTime();
        long start = firstDue + (long) (warmup * warmupIntervalNanos); // when the first timed job is due
        progress.show(() -> warmedUp.get() < warmup
                ? String.format(Locale.ROOT, "continuous: warm-up, %,d of %,d enqueued, %,d started", warmedUp.get(), warmup,
                        worker.warmupStarted())
                : String.format(Locale.ROOT, "continuous: %,d of %,d enqueued (%s), %,d started",
                        enqueued.get(), total, rate(enqueued.get(), start), worker.timedStarted()));
        ExecutorService pool = Executors.newFixedThreadPool(enqueuers, new NamedThreadFactory("backtick-bench-enqueue", true));
        List<Future<?>> loops = new ArrayList<>();
        try {
            for (int i = 0; i < enqueuers; i++) {
                loops.add(pool.submit(() -> {
                    // Open loop: the n-th job of the warm-up is due at firstDue + n / warmup rate, the n-th timed
                    // one at start + n / rate, whether or not earlier ones were quick.
                    for (long n = next.getAndIncrement(); n < warmup + total && !cleanup.stopRequested(); n = next.getAndIncrement()) {
                        long due = n < warmup ? firstDue + (long) (n * warmupIntervalNanos)
                                : start + (long) ((n - warmup) * intervalNanos);
                        long wait = due - System.nanoTime();
                        if (wait > 0) {
                            LockSupport.parkNanos(wait);
                        }
                        if (n < warmup) {
                            client.enqueue(scheduled(JobRequest.ofJson(BenchWorker.NAME, BenchWorker.CONTINUOUS_WARMUP_ARGS)
                                    .withPriority(WARMUP_PRIORITY)));
                            warmedUp.incrementAndGet();
                        } else {
                            long seq = n - warmup;
                            // A scheduled job is due its delay after the enqueue's transaction began, by the
                            // database's clock: timed from a moment just before that, its lateness is if anything too long.
                            long asked = System.nanoTime();
                            client.enqueue(scheduled(JobRequest.ofJson(BenchWorker.NAME, "[" + seq + "]").withPriority(TIMED_PRIORITY)));
                            latencies.committed(seq, scheduledIn == null ? System.nanoTime() : asked + scheduledIn.toNanos());
                            enqueued.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> loop : loops) {
                try {
                    loop.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                }
            }
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        }
        long enqueueEnd = System.nanoTime();
        abortIfCleaningUp();
        awaitCompleted(total, runner, worker, schema);
        // Scheduled jobs are processed from when the first of them came due.
        long firstStart = scheduledIn == null ? start : start + scheduledIn.toNanos();
        timedFromNanos = firstStart;
        timedToNanos = System.nanoTime();
        return new BenchReport.Phase[] {
            BenchReport.Phase.of(enqueued.get(), enqueueEnd - start),
            BenchReport.Phase.of(enqueued.get(), timedToNanos - firstStart)
        };
    }

    /** The request as continuous mode enqueues it: to run {@code --in} after its enqueue, if given. */
    private JobRequest scheduled(JobRequest request) {
        return scheduledIn == null ? request : request.in(scheduledIn);
    }

    /**
     * Waits until {@code count} timed jobs have started and the database holds none of them
     * unfinished. The database is asked only once every timed job has started (on two cores, a
     * bench that polled while the runner worked would measure itself), then every 5 ms, whether
     * or not the completer still has outcomes queued: above a backlog the runner goes on to the
     * backlog's jobs, and a bench that waited for an idle completer waited for a lull in those.
     */
    private void awaitCompleted(long count, Runners runner, BenchWorker worker, BenchSchema schema)
            throws InterruptedException {
        long seenStarted = -1;
        int seenPending = -1;
        long lastChange = System.nanoTime();
        while (true) {
            abortIfCleaningUp();
            long started = worker.timedStarted();
            int pending = runner.pendingOutcomes();
            long now = System.nanoTime();
            // Progress is a job starting or the completer's queue moving: a slow run goes on, a stuck one stops.
            if (started != seenStarted || pending != seenPending) {
                seenStarted = started;
                seenPending = pending;
                lastChange = now;
            } else if (now - lastChange > STALL.toNanos()) {
                throw new IllegalStateException(String.format(Locale.ROOT, started < count
                        ? "no bench job started for %d s (%,d of %,d started); giving up"
                        : "the last bench jobs were not recorded completed within %d s (%,d of %,d started); giving up",
                        STALL.toSeconds(), started, count));
            }
            if (started >= count && !schema.anyUnfinished(TIMED_PRIORITY)) {
                return;
            }
            Thread.sleep(5);
        }
    }

    private void abortIfCleaningUp() {
        if (cleanup.stopRequested()) {
            throw new BenchInterruptedException();
        }
    }

    /**
     * Enqueuer threads for a rate: each commit waits for its WAL flush (several milliseconds on a
     * busy disk), so one thread per 100 jobs/s, at most 16, keeps the schedule.
     */
    static int enqueuers(double rate) {
        return (int) Math.max(1, Math.min(16, Math.ceil(rate / 100)));
    }

    private static String rate(long jobs, long startNanos) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        return String.format(Locale.ROOT, "%,.0f jobs/s", seconds > 0 ? jobs / seconds : 0.0);
    }

    /** The bench was stopped (Ctrl-C) while it ran; its cleanup is under way. */
    public static final class BenchInterruptedException extends RuntimeException {

        private static final long serialVersionUID = 1L;

        BenchInterruptedException() {
            super("backtick bench was interrupted; its schema is being dropped");
        }
    }
}
