package io.backtick.runner.engine;

import java.time.Duration;

/**
 * How often a reading that grows while a transaction stays open anywhere in the database may
 * come: at its own interval while it is quick, and otherwise at most once in {@link #FACTOR}
 * times as long as it last took, so that it holds about 1% of a connection at most. Such a
 * transaction keeps an index entry for every job changed since it began, and a reading that
 * passes them (the producer's look behind its claims, the stager's read of every due job, the
 * rescue's read of every running job, the unknown-claims check, the absent-workers report) grows
 * with its age.
 */
public final class CostSpacing {

    /** A slow reading comes at most once in this many times as long as it last took. */
    public static final int FACTOR = 100;

    private CostSpacing() {
    }

    /** The time after a reading that took {@code tookNanos}, due every {@code everyNanos}, when the next may come. */
    public static long nanos(long everyNanos, long tookNanos) {
        return Math.max(everyNanos, FACTOR * tookNanos);
    }

    /** {@link #nanos} in durations. */
    public static Duration after(Duration took, Duration every) {
        Duration spaced = took.multipliedBy(FACTOR);
        return spaced.compareTo(every) > 0 ? spaced : every;
    }
}
