package io.backtick.runner.engine;

import io.backtick.runner.queue.DatabaseUnavailableException;
import java.time.Clock;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the runner can reach its database, as seen by every loop that uses it. Logs one line
 * when the connection is lost and one when it is back, never one per failed poll: while a database
 * restarts, one loop may get through while another still fails, so the database counts as back
 * only after it has answered without a single failure for {@link #BACK_AFTER}.
 */
public final class DatabaseHealth {

    private static final Logger log = LoggerFactory.getLogger(DatabaseHealth.class);

    /** How long the database must answer without a failure before it counts as back. */
    public static final Duration BACK_AFTER = Duration.ofSeconds(1);

    private final Clock clock;
    /** When the outage began (epoch millis), or -1 while the database counts as up. Written under the lock. */
    private volatile long lostSince = -1;
    /** During an outage: when the current run of successes began, or -1 if the last call failed. */
    private long answeringSince = -1;
    /** When the database last came back, or this runner started (epoch millis). */
    private volatile long steadySince;

    public DatabaseHealth() {
        this(Clock.systemUTC());
    }

    public DatabaseHealth(Clock clock) {
        this.clock = clock;
        this.steadySince = clock.millis();
    }

    /** A call to the database by {@code who} failed with {@code e}. */
    public void lost(String who, RuntimeException e) {
        synchronized (this) {
            answeringSince = -1;
            if (lostSince >= 0) {
                return;
            }
            lostSince = clock.millis();
        }
        log.warn("Lost the database ({}: {}); jobs that finish meanwhile are kept and written when it is back",
                who, DatabaseUnavailableException.reason(e));
    }

    /** A call to the database succeeded. */
    public void ok() {
        if (lostSince < 0) {
            return; // the common case, without a lock
        }
        long outage;
        synchronized (this) {
            long now = clock.millis();
            if (lostSince < 0) {
                return;
            }
            if (answeringSince < 0) {
                answeringSince = now;
                return;
            }
            if (now - answeringSince < BACK_AFTER.toMillis()) {
                return;
            }
            outage = answeringSince - lostSince;
            lostSince = -1;
            answeringSince = -1;
            steadySince = now;
        }
        log.info("Database is back after {} ms", outage);
    }

    /**
     * Whether the database has answered for at least {@code period}, since this runner started or
     * its last outage ended. After an outage every runner's heartbeat is stale at once; waiting this
     * long before judging other runners lost gives them time to heartbeat again.
     */
    public boolean steadyFor(Duration period) {
        return lostSince < 0 && clock.millis() - steadySince >= period.toMillis();
    }

    /** True from the first failure until the database has answered steadily again. */
    public boolean isLost() {
        return lostSince >= 0;
    }
}
