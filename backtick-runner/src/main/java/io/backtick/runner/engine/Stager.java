package io.backtick.runner.engine;

import io.backtick.runner.queue.JobQueue;
import io.backtick.runner.queue.MadeAvailable;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Makes scheduled jobs and retryable jobs available once their time has come, once per poll
 * interval. Every runner runs one; they skip each other's rows, and a job staged twice is still
 * available once. Each staging statement announces where its jobs start in claim order to every
 * listening runner, so they are claimed from there at once, by whichever runner has their worker
 * (see {@link MadeAvailable}); this runner's producer is told directly too, should its
 * notifications be down.
 *
 * <p>A stage reads the due index from its start: every job that came due, wherever it stands. A
 * transaction left open anywhere in the database keeps an entry there for every job staged since
 * it began, so that read grows with the transaction's age (200,000 staged jobs: 9 ms). While it
 * takes no more than a hundredth of the time since the last one, every round reads from the
 * start, as it always did. Once it takes longer, the rounds in between stage only the jobs due at
 * or after the latest run_at the stager has staged ({@link JobQueue#stageDue(int, OffsetDateTime)}),
 * and the read from the start comes as {@link CostSpacing} allows: once in 100 times as long as
 * it last took. Jobs that come due behind that point (one scheduled inside a transaction that lasted
 * longer than its delay) wait for it.
 *
 * <p>Rounds come when jobs fall due, not only once per poll interval: each stage also reads when
 * the next waiting job is due, and the stager asks for its next round then ({@link #roundBy}). A job
 * scheduled after that read for a time before the next round is announced by its enqueue's
 * notification ({@link #dueAt}), a retry written by this runner by its completer
 * ({@link #dueIn}), and one another runner wrote by that runner's announcement of it, which every
 * runner hears as it hears an enqueue's ({@code V11__announce_retries.sql}). So a job scheduled for a moment starts within milliseconds of it (rounds come at most
 * every {@link PeriodicLoop#MIN_GAP}), where it waited up to a poll interval before.
 *
 * <p>A stage commits without waiting for the WAL flush, and this runner's producer is told of
 * its jobs before they are announced to the other runners, in a statement of their own: a stage
 * that announced them itself waited at commit behind every enqueue committing at the same moment
 * ({@link JobQueue#stageDue(int, OffsetDateTime)}).
 */
public final class Stager extends PeriodicLoop {

    static final int BATCH = 5_000;

    private final JobQueue queue;
    private final Consumer<JobQueue.ClaimPosition> onStaged;
    private final LongSupplier nanoTime;
    /** The latest run_at this stager has staged; null until it has staged any. */
    private OffsetDateTime stagedUpTo;
    private long fullReadAt;
    private long fullReadNanos;
    /** The database's clock less this JVM's, in microseconds, as of the last round ({@link #heard}). */
    private volatile long databaseAheadMicros;
    /** {@link System#nanoTime()} of that reading; 0 before the first. */
    private long aheadReadAt;

    public Stager(JobQueue queue, DatabaseHealth health, Duration interval, Consumer<JobQueue.ClaimPosition> onStaged) {
        this(queue, health, interval, onStaged, System::nanoTime);
    }

    Stager(JobQueue queue, DatabaseHealth health, Duration interval, Consumer<JobQueue.ClaimPosition> onStaged,
           LongSupplier nanoTime) {
        super("stager", health, interval, Duration.ofSeconds(10));
        this.queue = queue;
        this.onStaged = onStaged;
        this.nanoTime = nanoTime;
    }

    /** Stages what is due now; returns how many jobs became available. */
    public int runOnce() {
        long started = nanoTime.getAsLong();
        OffsetDateTime from = stagedUpTo == null || started - fullReadAt >= CostSpacing.nanos(0, fullReadNanos)
                ? null : stagedUpTo;
        int total = 0;
        int made;
        do {
            JobQueue.Stage stage = queue.stageDue(BATCH, from);
            heard(stage);
            if (from == null) {
                // Only the statement that read from the start: later batches resume.
                fullReadAt = started;
                fullReadNanos = nanoTime.getAsLong() - started;
            }
            made = stage.made().jobs();
            total += made;
            if (stage.made().start() != null) {
                onStaged.accept(stage.made().start());
                queue.announce(stage.made()); // after: the producer does not wait for the announcement
            }
            if (stage.latest() != null) {
                // The next batch, and the rounds that do not read from the start, begin here.
                from = stage.latest();
                stagedUpTo = stagedUpTo == null || from.isAfter(stagedUpTo) ? from : stagedUpTo;
            }
        } while (made == BATCH);
        return total;
    }

    /**
     * Takes note of when the next waiting job falls due, by the database's clock, and of how far
     * that clock is ahead of this JVM's. The database read its clock before this JVM reads its
     * own, so each reading of the difference falls short of it by the time between (the
     * statement's way back, a thread waiting for a core): the estimate is the largest reading,
     * let down by a millisecond a second so that it follows a clock that is slewed.
     */
    private void heard(JobQueue.Stage stage) {
        Instant local = Instant.now();
        long now = System.nanoTime();
        Instant database = stage.databaseNow().toInstant();
        long reading = ChronoUnit.MICROS.between(local, database);
        long decayed = databaseAheadMicros - TimeUnit.NANOSECONDS.toMillis(now - aheadReadAt);
        databaseAheadMicros = aheadReadAt == 0 ? reading : Math.max(reading, decayed);
        aheadReadAt = now == 0 ? 1 : now;
        if (stage.nextDue() != null) {
            dueIn(Duration.between(database, stage.nextDue().toInstant()));
        }
    }

    /**
     * Asks for a round when a job scheduled for {@code runAt}, by the database's clock, falls due:
     * one enqueued since the last round, which that round's reading of the next due job missed.
     */
    public void dueAt(Instant runAt) {
        long inMicros = ChronoUnit.MICROS.between(Instant.now(), runAt) - databaseAheadMicros;
        roundBy(System.nanoTime() + TimeUnit.MICROSECONDS.toNanos(Math.max(0, inMicros)));
    }

    /** Asks for a round {@code delay} from now: the next waiting job, or a retry this runner has just written. */
    public void dueIn(Duration delay) {
        roundBy(System.nanoTime() + delay.toNanos());
    }

    @Override
    protected void round() {
        runOnce();
    }
}
