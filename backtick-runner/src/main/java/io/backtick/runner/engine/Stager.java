package io.backtick.runner.engine;

import io.backtick.runner.queue.JobQueue;
import io.backtick.runner.queue.MadeAvailable;
import java.time.Duration;
import java.time.OffsetDateTime;
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
            if (from == null) {
                // Only the statement that read from the start: later batches resume.
                fullReadAt = started;
                fullReadNanos = nanoTime.getAsLong() - started;
            }
            made = stage.made().jobs();
            total += made;
            if (stage.made().start() != null) {
                onStaged.accept(stage.made().start());
            }
            if (stage.latest() != null) {
                // The next batch, and the rounds that do not read from the start, begin here.
                from = stage.latest();
                stagedUpTo = stagedUpTo == null || from.isAfter(stagedUpTo) ? from : stagedUpTo;
            }
        } while (made == BATCH);
        return total;
    }

    @Override
    protected void round() {
        runOnce();
    }
}
