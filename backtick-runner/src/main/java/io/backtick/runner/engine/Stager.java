package io.backtick.runner.engine;

import io.backtick.runner.queue.JobQueue;
import io.backtick.runner.queue.MadeAvailable;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Makes scheduled jobs and retryable jobs available once their time has come, once per poll
 * interval. Every runner runs one; they skip each other's rows, and a job staged twice is still
 * available once. Each staging statement announces where its jobs start in claim order to every
 * listening runner, so they are claimed from there at once, by whichever runner has their worker
 * (see {@link MadeAvailable}); this runner's producer is told directly too, should its
 * notifications be down.
 */
public final class Stager extends PeriodicLoop {

    static final int BATCH = 5_000;

    private final JobQueue queue;
    private final Consumer<JobQueue.ClaimPosition> onStaged;

    public Stager(JobQueue queue, DatabaseHealth health, Duration interval, Consumer<JobQueue.ClaimPosition> onStaged) {
        super("stager", health, interval, Duration.ofSeconds(10));
        this.queue = queue;
        this.onStaged = onStaged;
    }

    /** Stages what is due now; returns how many jobs became available. */
    public int runOnce() {
        int total = 0;
        MadeAvailable staged;
        do {
            staged = queue.stageDue(BATCH);
            total += staged.jobs();
            if (staged.start() != null) {
                onStaged.accept(staged.start());
            }
        } while (staged.jobs() == BATCH);
        return total;
    }

    @Override
    protected void round() {
        runOnce();
    }
}
