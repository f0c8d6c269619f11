package io.backtick.runner.engine;

import io.backtick.runner.lifecycle.Loop;
import io.backtick.runner.queue.JobQueue;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Looks for available jobs behind where the producer's claims resume, on a thread and a
 * connection of its own, while the head of the queue is slow to read.
 *
 * <p>Jobs that become available behind that point without an announcement (while the runner's
 * notifications were down, or by hand) are found only by reading the claim index from its head, and the head
 * keeps an entry for every job claimed since the table was last vacuumed, or since a transaction
 * left open began. A claim that read them took the claims' turn for as long (50 ms with a
 * transaction held open for ten minutes at 500 jobs/s), and every job enqueued meanwhile waited
 * for it. The sweeper reads them off the claim path, locking nothing, and tells the producer
 * where the jobs it found stand; the producer claims a few by primary key, and many from where
 * the first one stands.
 */
final class Sweeper extends Loop {

    /** What the producer hears back from a sweep. */
    interface Found {
        /**
         * Where the available jobs found behind the point stand, in claim order, and how long
         * reading the head up to the point took: -1 when the sweep stopped at its limit first.
         */
        void swept(List<JobQueue.ClaimPosition> jobs, long headReadNanos);
    }

    private final JobQueue queue;
    private final String[] workers;
    private final int limit;
    private final DatabaseHealth health;
    private final Found found;
    private final Wakeup wakeup = new Wakeup();
    private final AtomicReference<JobQueue.ClaimPosition> requested = new AtomicReference<>();

    Sweeper(JobQueue queue, String[] workers, int limit, DatabaseHealth health, Found found) {
        super("backtick-sweeper", Duration.ofSeconds(10));
        this.queue = queue;
        this.workers = workers.clone();
        this.limit = limit;
        this.health = health;
        this.found = found;
    }

    /** Looks, soon, for available jobs before {@code before} in claim order. Never blocks. */
    void request(JobQueue.ClaimPosition before) {
        requested.set(before);
        wakeup.signal();
    }

    @Override
    protected void step() throws InterruptedException {
        wakeup.await(1, TimeUnit.SECONDS);
        JobQueue.ClaimPosition before = requested.getAndSet(null);
        if (before == null) {
            return;
        }
        long started = System.nanoTime();
        List<JobQueue.ClaimPosition> jobs;
        try {
            jobs = queue.availableBefore(workers, before, limit);
            health.ok();
        } catch (RuntimeException e) {
            health.lost("sweeper", e);
            return; // the producer asks again at its next look behind
        }
        found.swept(jobs, jobs.size() < limit ? System.nanoTime() - started : -1);
    }

    @Override
    protected void wake() {
        wakeup.signal();
    }
}
