package io.backtick.runner.engine;

import io.backtick.runner.queue.DatabaseUnavailableException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the runner can reach its database, as seen by every loop that uses it. Logs one line
 * when the connection is lost and one when it is back, never one per failed poll.
 */
public final class DatabaseHealth {

    private static final Logger log = LoggerFactory.getLogger(DatabaseHealth.class);

    /** When the outage began (nanoTime), or 0 while the database answers. */
    private final AtomicLong lostSince = new AtomicLong();
    /** When the database last came back, or this runner started (nanoTime). */
    private final AtomicLong steadySince = new AtomicLong(System.nanoTime());

    public void lost(String who, RuntimeException e) {
        if (lostSince.compareAndSet(0, System.nanoTime() | 1)) {
            log.warn("Lost the database ({}: {}); jobs that finish meanwhile are kept and written when it is back",
                    who, DatabaseUnavailableException.reason(e));
        }
    }

    public void ok() {
        long since = lostSince.getAndSet(0);
        if (since != 0) {
            steadySince.set(System.nanoTime());
            log.info("Database is back after {} ms", (System.nanoTime() - since) / 1_000_000);
        }
    }

    /**
     * Whether the database has answered for at least {@code period}, since this runner started or
     * its last outage ended. After an outage every runner's heartbeat is stale at once; waiting this
     * long before judging other runners lost gives them time to heartbeat again.
     */
    public boolean steadyFor(java.time.Duration period) {
        return lostSince.get() == 0 && System.nanoTime() - steadySince.get() >= period.toNanos();
    }

    public boolean isLost() {
        return lostSince.get() != 0;
    }
}
