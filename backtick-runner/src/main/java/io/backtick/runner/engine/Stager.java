package io.backtick.runner.engine;

import io.backtick.runner.lifecycle.Loop;
import io.backtick.runner.queue.JobQueue;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Makes scheduled jobs and retryable jobs available once their time has come, once per poll
 * interval, and wakes the producer when it did. Every runner runs one; they skip each other's
 * rows, and a job staged twice is still available once.
 */
public final class Stager extends Loop {

    static final int BATCH = 5_000;

    private final JobQueue queue;
    private final DatabaseHealth health;
    private final Duration interval;
    private final Runnable onStaged;
    private final CountDownLatch stop = new CountDownLatch(1);

    public Stager(JobQueue queue, DatabaseHealth health, Duration interval, Runnable onStaged) {
        super("backtick-stager", Duration.ofSeconds(10));
        this.queue = queue;
        this.health = health;
        this.interval = interval;
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
    protected void step() throws InterruptedException {
        try {
            runOnce();
            health.ok();
        } catch (RuntimeException e) {
            health.lost("stager", e);
        }
        stop.await(interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    protected void wake() {
        stop.countDown();
    }
}
