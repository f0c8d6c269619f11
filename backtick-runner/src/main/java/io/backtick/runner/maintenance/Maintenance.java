package io.backtick.runner.maintenance;

import io.backtick.runner.engine.CostSpacing;
import io.backtick.runner.engine.DatabaseHealth;
import io.backtick.runner.engine.Heartbeat;
import io.backtick.runner.engine.HeldJobs;
import io.backtick.runner.engine.JobExecutor;
import io.backtick.runner.engine.PeriodicLoop;
import io.backtick.runner.queue.MaintenanceQueue;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runner's housekeeping, checked every second:
 * <ul>
 *   <li>cancellation: running jobs of this runner that someone cancelled are told to stop (every runner, for its own jobs);</li>
 *   <li>rescue, every 10 s: jobs held by runners whose heartbeat expired go back to the queue
 *       (the seed's "revive", driven by leases instead of a fixed timeout), judged only by a runner
 *       that has reached the database steadily for a heartbeat expiry; those of runners that left
 *       no row come back in a reading of every running job, every 10 s too unless that grew slow
 *       ({@link #RESCUE_ANYWHERE});</li>
 *   <li>prune, every minute: completed jobs older than the retention, discarded and cancelled ones
 *       older than theirs, deleted in bounded batches;</li>
 *   <li>absent workers, every minute: logs jobs waiting for a worker no live runner serves;</li>
 *   <li>unknown claims, every 30 s (every runner, for its own jobs): jobs running under this
 *       runner's id for 30 s that it does not hold went back to the queue, attempt unspent: their
 *       claim committed but its reply was lost with the connection, so they never reached it;</li>
 *   <li>vacuum, every 10 s, only where autovacuum does not tend the jobs table (it is off on the
 *       server or for the table): vacuums it once dead rows pass 1% of the live ones, so claims do
 *       not slow down as dead index entries pile up, but only once while the same transaction
 *       left open holds back what it could remove; and analyzes it once a tenth of it has
 *       changed, as autovacuum would ({@link #worthAnalyzing}).</li>
 *   <li>held-back cleanup, every 15 s (every runner): says in the log when a transaction left open
 *       keeps PostgreSQL from cleaning up after claims, which slows them down ({@link HorizonWatch}).</li>
 *   <li>queue depth, every 15 s across the runners whose metrics were read in the last
 *       {@link #DEPTH_WANTED_FOR}, the others reading what it found: how many jobs are due and
 *       waiting, and how long the first of them has waited ({@link #depth}).</li>
 * </ul>
 * Rescue, prune, the report and the depth run once per interval across all runners: the runner that takes the
 * task's turn in the database runs it.
 *
 * <p>Four of these read index entries that a transaction left open anywhere in the database
 * keeps, one for every job since it began: the rescue's reading of every running job, the report
 * and the queue depth (every waiting job) and the unknown-claims check (every job this runner
 * ran). Each comes at its
 * interval only while it takes at most a hundredth of it, and otherwise once in
 * 100 times as long as it last took ({@link CostSpacing}, {@link #spacedAfter}), so that such a
 * transaction costs the server at most about 1% of a connection for each while it lasts. The
 * question for cancel requests, asked every second, reads an index of its own that holds only
 * running jobs with a request.
 */
public final class Maintenance extends PeriodicLoop {

    private static final Logger log = LoggerFactory.getLogger(Maintenance.class);
    static final Duration RESCUE_EVERY = Duration.ofSeconds(10);
    /**
     * The rescue's turn that reads every running job, to find those whose runner left no row to
     * say it was lost. It reads every entry of the running-jobs index, which a transaction left
     * open keeps growing, so it comes every {@link #RESCUE_EVERY} only while it takes no more than
     * a hundredth of that, and otherwise once in 100 times its
     * length; the jobs of runners whose row shows them lost are rescued every round meanwhile.
     */
    static final String RESCUE_ANYWHERE = "rescue-anywhere";
    static final String REPORT_ABSENT_WORKERS = "report-absent-workers";
    static final Duration PRUNE_EVERY = Duration.ofMinutes(1);
    static final Duration REPORT_EVERY = Duration.ofMinutes(1);
    /** How often, and after how long, a runner looks for jobs claimed in its name that never reached it. */
    static final Duration UNKNOWN_CLAIMS_EVERY = Duration.ofSeconds(30);
    private static final String UNKNOWN_CLAIMS = "unknown-claims";
    static final Duration VACUUM_EVERY = Duration.ofSeconds(10);
    /** How often a runner whose metrics are read reads the queue's depth. */
    static final Duration DEPTH_EVERY = Duration.ofSeconds(15);
    /**
     * How long after its metrics were last read a runner goes on reading the queue's depth: a
     * runner nobody scrapes spends nothing on it, one scraped every minute keeps it fresh.
     */
    static final Duration DEPTH_WANTED_FOR = Duration.ofMinutes(5);
    private static final String DEPTH = "queue-depth";
    /** Fewer dead (or changed) rows than this are never worth a vacuum (or analyze) of our own. */
    static final long VACUUM_MIN_ROWS = 10_000;
    private static final int BATCH = 1_000;
    private static final int MAX_PRUNE_BATCHES = 50;

    private final MaintenanceQueue queue;
    private final JobExecutor executor;
    private final HeldJobs held;
    private final DatabaseHealth health;
    private final String runnerId;
    private final Duration retainCompleted;
    private final Duration retainDiscarded;
    private final Map<String, Long> nextAsk = new java.util.concurrent.ConcurrentHashMap<>();
    /** {@link System#nanoTime}, or a test's clock: when tasks are due, and how long they took. */
    private final LongSupplier nanoTime;
    private boolean toldAutovacuumOff;
    /**
     * The oldest transaction that held back cleanup when this runner last vacuumed, or null. While
     * it is still the oldest, a vacuum could remove none of the dead rows it left nor any since.
     */
    private Long vacuumedBehind;
    private final HorizonWatch horizon;
    /** The queue's depth as last read, or null before the first reading. */
    private volatile MaintenanceQueue.Depth depth;
    /** {@link #nanoTime} when the depth was last asked for, or null if never. */
    private volatile Long depthAskedAt;

    /** What one round did. */
    public record Round(int cancelRequests, int rescued, int pruned) {
    }

    public Maintenance(MaintenanceQueue queue, JobExecutor executor, HeldJobs held, DatabaseHealth health, String runnerId,
                       Duration retainCompleted, Duration retainDiscarded) {
        this(queue, executor, held, health, runnerId, retainCompleted, retainDiscarded, System::nanoTime);
    }

    Maintenance(MaintenanceQueue queue, JobExecutor executor, HeldJobs held, DatabaseHealth health, String runnerId,
                Duration retainCompleted, Duration retainDiscarded, LongSupplier nanoTime) {
        super("maintenance", health, Duration.ofSeconds(1), Duration.ofSeconds(30));
        this.queue = queue;
        this.executor = executor;
        this.held = held;
        this.health = health;
        this.runnerId = runnerId;
        this.retainCompleted = retainCompleted;
        this.retainDiscarded = retainDiscarded;
        this.nanoTime = nanoTime;
        this.horizon = new HorizonWatch(queue, InstantSource.system(), HorizonWatch.WARN_AFTER);
    }

    /**
     * How long the longest-standing transaction seen holding back PostgreSQL's cleanup after
     * claims has held it (zero when none): see {@link HorizonWatch}.
     */
    public Duration cleanupHeldBack() {
        return horizon.longestHeld();
    }

    /**
     * How many jobs are due and waiting across the queue, and how long the first of them has
     * waited, as last read (null before the first reading). Asking keeps the readings coming for
     * {@link #DEPTH_WANTED_FOR}: the metrics endpoint asks at every scrape.
     */
    public MaintenanceQueue.Depth depth() {
        depthAskedAt = nanoTime.getAsLong();
        return depth;
    }

    public Round runOnce() {
        List<Long> cancel = executor.runningCount() == 0 ? List.of() : queue.cancelRequested(runnerId);
        int told = cancel.isEmpty() ? 0 : executor.cancel(cancel);
        int rescued = 0;
        // Only a runner that has seen the database steadily for a whole heartbeat expiry judges
        // others lost: right after an outage (or its own start) every heartbeat may be stale.
        if (health.steadyFor(Heartbeat.EXPIRY) && mayBeDue("rescue", RESCUE_EVERY)
                && queue.takeTurn("rescue", RESCUE_EVERY, runnerId)) {
            rescued = rescue();
        }
        int pruned = 0;
        if (mayBeDue("prune", PRUNE_EVERY) && queue.takeTurn("prune", PRUNE_EVERY, runnerId)) {
            pruned = prune();
        }
        reportAbsentWorkersIfDue();
        handBackUnknownClaimsIfDue();
        if (mayBeDue("vacuum", VACUUM_EVERY) && queue.takeTurn("vacuum", VACUUM_EVERY, runnerId)) {
            vacuumIfNeglected();
        }
        horizon.checkIfDue();
        readDepthIfDue();
        return new Round(told, rescued, pruned);
    }

    /**
     * Whether to ask the database for {@code task}'s turn now. After asking, this runner waits a
     * fifth of the interval before asking again: the turn is still taken once per interval across
     * all runners, and an idle runner does not query for turns every second.
     */
    private boolean mayBeDue(String task, Duration every) {
        return isDue(task, every.dividedBy(5));
    }

    /**
     * Whether this runner's own {@code task} (one that takes no turn in the database) is due now,
     * once {@code every}.
     */
    private boolean isDue(String task, Duration every) {
        long now = nanoTime.getAsLong();
        Long next = nextAsk.get(task);
        if (next != null && now - next < 0) {
            return false;
        }
        nextAsk.put(task, now + every.toNanos());
        return true;
    }

    /**
     * Rescues the jobs of lost runners now (tests and the rescue turn call this): those of every
     * runner whose row shows it lost, and, when that turn is due, every running job whose runner
     * does not heartbeat, row or none ({@link #RESCUE_ANYWHERE}).
     */
    public int rescue() {
        int total = inBatches(() -> queue.rescueFromLostRunners(Heartbeat.EXPIRY, BATCH).jobs());
        if (queue.takeTurn(RESCUE_ANYWHERE, RESCUE_EVERY, runnerId)) {
            long started = nanoTime.getAsLong();
            total += inBatches(() -> queue.rescueLost(Heartbeat.EXPIRY, BATCH).jobs());
            postponeIfCostly(RESCUE_ANYWHERE, started, RESCUE_EVERY);
        }
        if (total > 0) {
            log.warn("Rescued {} job(s) from runners that stopped heartbeating; they run again", total);
        }
        queue.recordResult("rescue", "rescued " + total);
        return total;
    }

    /** Runs {@code batch} (which handles at most {@link #BATCH} jobs) until one comes back short; returns the jobs handled. */
    private static int inBatches(java.util.function.IntSupplier batch) {
        int total = 0;
        int n;
        do {
            n = batch.getAsInt();
            total += n;
        } while (n == BATCH);
        return total;
    }

    /**
     * How long after a run of a task due every {@code every} that took {@code took} the next
     * comes: {@code every}, or 100 times {@code took} if that is longer ({@link CostSpacing}).
     */
    static Duration spacedAfter(Duration took, Duration every) {
        return CostSpacing.after(took, every);
    }

    /** How long since {@code started} (a reading of {@link #nanoTime}). */
    private Duration since(long started) {
        return Duration.ofNanos(nanoTime.getAsLong() - started);
    }

    /**
     * Pushes the next turn of {@code task} (one whose turn is taken in the database), which
     * started at {@code started} and is due every {@code every}, back as {@link #spacedAfter} says.
     */
    private void postponeIfCostly(String task, long started, Duration every) {
        Duration spacing = spacedAfter(since(started), every);
        if (spacing.compareTo(every) > 0) {
            queue.postpone(task, spacing);
        }
    }

    /**
     * Hands back the jobs an earlier process with this runner's id still holds (it died and this
     * one took its id); called once as the runner starts, before it claims anything.
     */
    public int handBackFromEarlierStart() {
        int n = queue.handBackFromEarlierStart(runnerId).jobs();
        if (n > 0) {
            log.warn("Handed back {} job(s) that an earlier process with runner id {} held when it was lost; they run again",
                    n, runnerId);
        }
        return n;
    }

    /** Prunes old finished jobs now, in bounded batches. */
    public int prune() {
        int total = 0;
        for (int i = 0; i < MAX_PRUNE_BATCHES; i++) {
            int n = queue.prune(List.of("completed"), retainCompleted, BATCH);
            n += queue.prune(List.of("discarded", "cancelled"), retainDiscarded, BATCH);
            total += n;
            if (n < BATCH) {
                break;
            }
        }
        if (total > 0) {
            log.info("Pruned {} finished job(s)", total);
        }
        queue.recordResult("prune", "pruned " + total);
        return total;
    }

    /**
     * Runs {@link #handBackUnknownClaims} if it is due: every {@link #UNKNOWN_CLAIMS_EVERY}, or
     * later after a check that took long ({@link #spacedAfter}). Returns the jobs handed back.
     */
    int handBackUnknownClaimsIfDue() {
        if (!isDue(UNKNOWN_CLAIMS, UNKNOWN_CLAIMS_EVERY)) {
            return 0;
        }
        long started = nanoTime.getAsLong();
        int n = handBackUnknownClaims();
        Duration spacing = spacedAfter(since(started), UNKNOWN_CLAIMS_EVERY);
        if (spacing.compareTo(UNKNOWN_CLAIMS_EVERY) > 0) {
            nextAsk.put(UNKNOWN_CLAIMS, started + spacing.toNanos());
        }
        return n;
    }

    /**
     * Reads the queue's depth if it was asked for within {@link #DEPTH_WANTED_FOR}, every
     * {@link #DEPTH_EVERY}. The reading itself reads an entry for every waiting job, the same for
     * every runner, so it is a turn taken in the database: one runner reads and keeps what it
     * read, later still after a reading that took long ({@link #spacedAfter}), and the others read
     * what it kept, one row. Returns whether it took a reading of either kind.
     */
    boolean readDepthIfDue() {
        Long asked = depthAskedAt;
        if (asked == null || nanoTime.getAsLong() - asked > DEPTH_WANTED_FOR.toNanos() || !isDue(DEPTH, DEPTH_EVERY)) {
            return false;
        }
        if (queue.takeTurn(DEPTH, DEPTH_EVERY, runnerId)) {
            long started = nanoTime.getAsLong();
            MaintenanceQueue.Depth read = queue.depth();
            queue.recordDepth(DEPTH, read);
            postponeIfCostly(DEPTH, started, DEPTH_EVERY);
            depth = read;
        } else {
            queue.lastDepth(DEPTH).ifPresent(kept -> depth = kept);
        }
        return true;
    }

    /**
     * Hands back, attempt unspent, the jobs the database shows running under this runner's id for
     * at least {@link #UNKNOWN_CLAIMS_EVERY} that this runner does not hold (see {@link HeldJobs}).
     */
    public int handBackUnknownClaims() {
        List<Long> unknown = queue.runningUnder(runnerId, UNKNOWN_CLAIMS_EVERY).stream()
                .filter(id -> !held.holds(id))
                .toList();
        if (unknown.isEmpty()) {
            return 0;
        }
        int n = queue.releaseUnknown(runnerId, unknown, UNKNOWN_CLAIMS_EVERY).jobs();
        if (n > 0) {
            log.warn("Handed back {} job(s) claimed in this runner's name whose claim never reached it "
                    + "(the connection was lost with the reply); they run again, attempt unspent", n);
        }
        return n;
    }

    /**
     * Vacuums the jobs table if autovacuum does not tend it and dead rows have piled up, or
     * analyzes it if much of it changed since its statistics were taken. Returns what it did.
     */
    public TableCare vacuumIfNeglected() {
        MaintenanceQueue.TableHealth table = queue.jobsTableHealth();
        if (table.autovacuum()) {
            return TableCare.NONE;
        }
        if (!toldAutovacuumOff) {
            toldAutovacuumOff = true;
            log.warn("Autovacuum is off for the jobs table (server setting 'autovacuum' or the table's "
                    + "'autovacuum_enabled'): Backtick vacuums and analyzes it itself");
        }
        long started = System.nanoTime();
        TableCare care;
        boolean piledUp = table.dead() >= Math.max(VACUUM_MIN_ROWS, table.live() / 100);
        // A transaction left open keeps the dead rows above the threshold: vacuum once behind it,
        // not every round until it ends (half a second of a core every 10 s at 500 jobs/s).
        Long horizon = piledUp ? queue.oldestHorizon() : null;
        if (piledUp && (horizon == null || !horizon.equals(vacuumedBehind))) {
            queue.vacuumJobs();
            vacuumedBehind = horizon;
            care = TableCare.VACUUMED;
        } else if (worthAnalyzing(table.changedSinceAnalyze(), table.live())) {
            queue.analyzeJobs();
            care = TableCare.ANALYZED;
        } else {
            return TableCare.NONE;
        }
        long millis = (System.nanoTime() - started) / 1_000_000;
        String result = String.format("%s the jobs table (%d live rows, %d dead, %d changed since analyzed) in %d ms",
                care == TableCare.VACUUMED ? "Vacuumed" : "Analyzed", table.live(), table.dead(),
                table.changedSinceAnalyze(), millis);
        log.info(result);
        queue.recordResult("vacuum", result);
        return care;
    }

    /**
     * Whether a table of {@code live} rows, {@code changed} of them changed since its statistics
     * were taken, is worth an analyze of our own: once a tenth of it has changed, as autovacuum
     * would by default, and at least {@link #VACUUM_MIN_ROWS}. (At a fiftieth, a transaction left
     * open, which stops the vacuums that analyze too, had the runners analyze every 10 s at 500
     * jobs/s: 618 ms each, 5% of a core, ten minutes into such a transaction.) Claims need no
     * fresher statistics: they are planned once, generically, and read the claim index in order
     * whatever the statistics say ({@code QueueDatabase.jobsForProducer}).
     */
    static boolean worthAnalyzing(long changed, long live) {
        return changed >= Math.max(VACUUM_MIN_ROWS, live / 10);
    }

    /** What {@link #vacuumIfNeglected} did. */
    public enum TableCare { NONE, VACUUMED, ANALYZED }

    /**
     * Runs {@link #reportAbsentWorkers} if this runner takes its turn: every {@link #REPORT_EVERY}
     * across all runners, or later after a report that took long ({@link #spacedAfter}).
     */
    void reportAbsentWorkersIfDue() {
        if (mayBeDue(REPORT_ABSENT_WORKERS, REPORT_EVERY) && queue.takeTurn(REPORT_ABSENT_WORKERS, REPORT_EVERY, runnerId)) {
            long started = nanoTime.getAsLong();
            reportAbsentWorkers();
            postponeIfCostly(REPORT_ABSENT_WORKERS, started, REPORT_EVERY);
        }
    }

    /** Logs the jobs that wait for a worker no live runner serves, if any; returns them by worker. */
    Map<String, Long> reportAbsentWorkers() {
        Map<String, Long> waiting = queue.waitingForAbsentWorkers(Heartbeat.EXPIRY);
        if (!waiting.isEmpty()) {
            log.warn("Jobs wait for workers no live runner serves: {}", waiting.entrySet().stream()
                    .map(e -> e.getKey() + " (" + e.getValue() + ")").collect(Collectors.joining(", ")));
        }
        return waiting;
    }

    @Override
    protected void round() {
        runOnce();
    }
}
