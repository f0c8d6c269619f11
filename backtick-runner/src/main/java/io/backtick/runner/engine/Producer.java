package io.backtick.runner.engine;

import io.backtick.runner.lifecycle.Loop;
import io.backtick.runner.queue.ClaimedJob;
import io.backtick.runner.queue.JobQueue;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Claims jobs and hands them to the executor. It claims only as many as there are free worker
 * threads (slots), in one statement, so a claimed job never waits in memory while another runner
 * could have run it. When a claim comes back short, the queue is drained: the producer waits for
 * the poll interval or a {@link Wakeup}, whichever comes first.
 */
public final class Producer extends Loop {

    /** While some slots are busy, wait this long for more to free before claiming, so claims stay batched. */
    private static final long GATHER_MILLIS = 2;

    private final JobQueue queue;
    private final JobExecutor executor;
    private final DatabaseHealth health;
    private final String runnerId;
    private final String[] workers;
    private final int threads;
    private final int claimBatch;
    private final Duration pollInterval;
    private final Semaphore slots;
    private final Wakeup wakeup;
    private final RunnerMetrics metrics;
    private long failurePause = 0;

    public Producer(JobQueue queue, JobExecutor executor, DatabaseHealth health, String runnerId, String[] workers,
                    int threads, int claimBatch, Duration pollInterval, Wakeup wakeup, RunnerMetrics metrics) {
        super("backtick-producer", Duration.ofSeconds(10));
        this.metrics = metrics;
        this.queue = queue;
        this.executor = executor;
        this.health = health;
        this.runnerId = runnerId;
        this.workers = workers.clone();
        this.threads = threads;
        this.claimBatch = claimBatch;
        this.pollInterval = pollInterval;
        this.slots = new Semaphore(threads);
        this.wakeup = wakeup;
    }

    @Override
    protected void step() throws InterruptedException {
        if (!slots.tryAcquire(pollInterval.toMillis(), TimeUnit.MILLISECONDS)) {
            return; // every thread busy for a whole interval
        }
        int free = 1 + slots.drainPermits();
        int gatherTarget = Math.max(1, threads / 4);
        if (free < gatherTarget && slots.tryAcquire(gatherTarget - free, GATHER_MILLIS, TimeUnit.MILLISECONDS)) {
            free = gatherTarget;
        }
        free += slots.drainPermits();
        int want = Math.min(free, claimBatch);
        slots.release(free - want);
        if (!isRunning()) {
            slots.release(want);
            return;
        }

        List<ClaimedJob> claimed;
        try {
            claimed = queue.claim(runnerId, workers, want);
            health.ok();
            failurePause = 0;
        } catch (RuntimeException e) {
            slots.release(want);
            health.lost("producer", e);
            failurePause = Math.min(Math.max(failurePause * 2, 100), pollInterval.toMillis() * 5);
            wakeup.await(failurePause, TimeUnit.MILLISECONDS);
            return;
        }
        slots.release(want - claimed.size());
        metrics.claimed(claimed.size());
        for (ClaimedJob job : claimed) {
            executor.execute(job, slots::release);
        }
        if (claimed.size() < want) {
            wakeup.await(pollInterval.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Claim again now rather than at the next poll: jobs may be ready. */
    public void wake() {
        wakeup.signal();
    }
}
