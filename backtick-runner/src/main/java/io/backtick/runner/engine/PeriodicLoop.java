package io.backtick.runner.engine;

import io.backtick.runner.lifecycle.Loop;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A loop that does one round of database work every interval: the stager, the scheduler, the
 * maintenance and the heartbeat. A round that fails reports the database lost (one log line per
 * outage, through {@link DatabaseHealth}); the next round tries again.
 */
public abstract class PeriodicLoop extends Loop {

    private final String role;
    private final DatabaseHealth health;
    private final Duration interval;
    private final CountDownLatch stop = new CountDownLatch(1);

    protected PeriodicLoop(String role, DatabaseHealth health, Duration interval, Duration stopTimeout) {
        super("backtick-" + role, stopTimeout);
        this.role = role;
        this.health = health;
        this.interval = interval;
    }

    /** One round of work. */
    protected abstract void round();

    @Override
    protected final void step() throws InterruptedException {
        try {
            round();
            health.ok();
        } catch (RuntimeException e) {
            health.lost(role, e);
        }
        stop.await(interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    protected final void wake() {
        stop.countDown();
    }
}
