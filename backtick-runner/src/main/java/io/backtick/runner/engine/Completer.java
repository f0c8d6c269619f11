package io.backtick.runner.engine;

import io.backtick.runner.lifecycle.Loop;
import io.backtick.runner.queue.JobQueue;
import io.backtick.runner.queue.Outcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the outcomes of attempts, in batches, on a thread of its own: the threads that run user
 * code only hand an outcome over and move on. While the database is away, outcomes wait here in
 * memory and are written when it returns, so a finished job is never run again for want of its
 * result. On stop, whatever is pending is flushed, trying for at most {@code flushTimeout}.
 */
public final class Completer extends Loop {

    private static final Logger log = LoggerFactory.getLogger(Completer.class);
    private static final int BATCH = 5_000;

    private final JobQueue queue;
    private final DatabaseHealth health;
    private final Duration flushTimeout;
    private final LinkedBlockingQueue<Outcome> pending = new LinkedBlockingQueue<>();
    private final AtomicLong written = new AtomicLong();
    private final HeldJobs held;
    private final Consumer<Duration> retriesDueIn;

    public Completer(JobQueue queue, DatabaseHealth health, Duration flushTimeout) {
        this(queue, health, flushTimeout, new HeldJobs());
    }

    public Completer(JobQueue queue, DatabaseHealth health, Duration flushTimeout, HeldJobs held) {
        this(queue, health, flushTimeout, held, delay -> { });
    }

    /** With {@code retriesDueIn} told, after each batch that set jobs to retry, how soon the first of them is due. */
    public Completer(JobQueue queue, DatabaseHealth health, Duration flushTimeout, HeldJobs held,
                     Consumer<Duration> retriesDueIn) {
        super("backtick-completer", flushTimeout.plusSeconds(5));
        this.held = held;
        this.retriesDueIn = retriesDueIn;
        this.queue = queue;
        this.health = health;
        this.flushTimeout = flushTimeout;
    }

    /** Hands over one outcome; never blocks. */
    public void submit(Outcome outcome) {
        pending.add(outcome);
    }

    /** How many outcomes wait to be written. */
    public int pendingCount() {
        return pending.size();
    }

    /** How many outcomes have been written since start. */
    public long writtenCount() {
        return written.get();
    }

    @Override
    protected void step() throws InterruptedException {
        Outcome first = pending.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
            return;
        }
        List<Outcome> batch = new ArrayList<>(Math.min(BATCH, pending.size() + 1));
        batch.add(first);
        pending.drainTo(batch, BATCH - 1);
        if (!writeUntilDone(batch, Long.MAX_VALUE)) {
            pending.addAll(batch); // stopping with the database away: finish() makes the last try
        }
    }

    @Override
    protected void finish() {
        long deadline = System.nanoTime() + flushTimeout.toNanos();
        List<Outcome> batch = new ArrayList<>();
        while (pending.drainTo(batch, BATCH) > 0) {
            if (!writeUntilDone(batch, deadline)) {
                int lost = batch.size() + pending.size();
                log.error("Could not write the outcomes of {} jobs before stopping; they stay running in the queue "
                        + "until they are rescued and run again", lost);
                return;
            }
            batch.clear();
        }
    }

    /** Writes one batch, retrying with backoff while the database is away. False if the deadline passed first. */
    private boolean writeUntilDone(List<Outcome> batch, long deadlineNanos) {
        long pause = 50;
        while (true) {
            try {
                queue.finish(batch);
                written.addAndGet(batch.size());
                held.written(batch);
                health.ok();
                announceRetries(batch);
                return true;
            } catch (RuntimeException e) {
                health.lost("completer", e);
            }
            if (!isRunning() && deadlineNanos == Long.MAX_VALUE) {
                return false; // stopping: finish() retries within the flush timeout
            }
            if (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(pause) > deadlineNanos) {
                return false;
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            pause = Math.min(pause * 2, 5_000);
        }
    }

    /** Tells when the first retry of a written batch is due, so the stager makes it available then. */
    private void announceRetries(List<Outcome> batch) {
        Duration first = null;
        for (Outcome outcome : batch) {
            if (outcome.kind() == Outcome.Kind.RETRY && (first == null || outcome.retryIn().compareTo(first) < 0)) {
                first = outcome.retryIn();
            }
        }
        if (first != null) {
            retriesDueIn.accept(first);
        }
    }

    @Override
    protected void wake() {
        // step() polls with a short timeout; nothing to wake.
    }
}
