package io.backtick.runner.engine;

import io.backtick.runner.lifecycle.Loop;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A loop that does one round of database work every interval: the stager, the scheduler, the
 * maintenance and the heartbeat. A round that fails reports the database lost (one log line per
 * outage, through {@link DatabaseHealth}); the next round tries again.
 *
 * <p>A loop whose work falls due at known times rounds at those times rather than only every
 * interval: a round, or anyone else, may ask for a round by a moment ({@link #roundBy(long)}),
 * such as when the round read when its next work is due, or a job scheduled before the next
 * round is enqueued. Rounds still come at least every interval, and at most once every
 * {@link #MIN_GAP}, so work that falls due every moment (thousands of jobs scheduled a second)
 * is done in batches rather than a round per moment.
 */
public abstract class PeriodicLoop extends Loop {

    /** Rounds asked for sooner come no closer together than this. */
    static final Duration MIN_GAP = Duration.ofMillis(10);

    private final String role;
    private final DatabaseHealth health;
    private final Duration interval;
    private final Object timer = new Object();
    private final long gapNanos;
    /** Whether a round was asked for by {@link #askedBy}, a {@link System#nanoTime()}. */
    private boolean asked;
    private long askedBy;

    protected PeriodicLoop(String role, DatabaseHealth health, Duration interval, Duration stopTimeout) {
        super("backtick-" + role, stopTimeout);
        this.role = role;
        this.health = health;
        this.interval = interval;
        this.gapNanos = Math.min(MIN_GAP.toNanos(), interval.toNanos());
    }

    /** One round of work. */
    protected abstract void round();

    /**
     * Asks for a round by {@code nanoTime} ({@link System#nanoTime()}), or at once if that has
     * passed; keeps an earlier request. A round asked for within {@link #MIN_GAP} of the last
     * one's start comes at that gap (or at the interval, if that is shorter).
     */
    public final void roundBy(long nanoTime) {
        synchronized (timer) {
            if (!asked || nanoTime - askedBy < 0) {
                asked = true;
                askedBy = nanoTime;
                timer.notifyAll();
            }
        }
    }

    @Override
    protected final void step() throws InterruptedException {
        long began = System.nanoTime();
        try {
            round();
            health.ok();
        } catch (RuntimeException e) {
            health.lost(role, e);
        }
        long earliest = began + gapNanos;
        long next = Math.max(System.nanoTime() + interval.toNanos(), earliest);
        synchronized (timer) {
            while (isRunning()) {
                long until = !asked || askedBy - next >= 0 ? next : askedBy - earliest > 0 ? askedBy : earliest;
                long left = until - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                TimeUnit.NANOSECONDS.timedWait(timer, left);
            }
            if (asked && askedBy - System.nanoTime() <= 0) {
                asked = false; // the round about to start serves it
            }
        }
    }

    @Override
    protected final void wake() {
        synchronized (timer) {
            timer.notifyAll();
        }
    }
}
