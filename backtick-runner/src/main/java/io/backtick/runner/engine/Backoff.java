package io.backtick.runner.engine;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The seed's retry delay: after attempt {@code n}, a random point between {@code base × 2^(n-1)}
 * and twice that. With the default base of 10 s: 10–20 s after the first failure, 20–40 s after
 * the second, and so on. Randomness spreads retries of jobs that failed together.
 */
public final class Backoff {

    private final Duration base;

    public Backoff(Duration base) {
        if (base.isNegative()) {
            throw new IllegalArgumentException("retry base must not be negative");
        }
        this.base = base;
    }

    public Duration base() {
        return base;
    }

    public Duration after(int attempt) {
        int exponent = Math.max(0, Math.min(attempt - 1, 30));
        long low = saturatingShift(base.toMillis(), exponent);
        long high = low > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : low * 2;
        long delay = low == high ? low : ThreadLocalRandom.current().nextLong(low, high + 1);
        return Duration.ofMillis(delay);
    }

    private static long saturatingShift(long value, int bits) {
        return value > (Long.MAX_VALUE >> bits) ? Long.MAX_VALUE / 2 : value << bits;
    }
}
