package io.backtick.runner.engine;

import io.backtick.runner.queue.JobQueue;
import java.time.Duration;

/**
 * Makes scheduled jobs and retryable jobs available once their time has come, once per poll
 * interval, and wakes the producer when it did. Every runner runs one; they skip each other's
 * rows, and a job staged twice is still available once.
 */
public final class Stager extends PeriodicLoop {

    static final int BATCH = 5_000;

    private final JobQueue queue;
    private final Runnable onStaged;

    public Stager(JobQueue queue, DatabaseHealth health, Duration interval, Runnable onStaged) {
        super("stager", health, interval, Duration.ofSeconds(10));
        this.queue = queue;
        this.onStaged = onStaged;
    }

    /** Stages what is due now; returns how many jobs became available. */
    public int runOnce() {
        int total = 0;
        int staged;
        do {
            staged = queue.stageDue(BATCH);
            total += staged;
        } while (staged == BATCH);
        if (total > 0) {
            onStaged.run();
        }
        return total;
    }

    @Override
    protected void round() {
        runOnce();
    }
}
