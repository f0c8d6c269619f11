package io.backtick.runner.bench;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Times each continuous-mode job from the moment its enqueue committed (the client's call
 * returned) to the moment its worker started, by {@link System#nanoTime()} in this one JVM. Job
 * {@code seq} has slot {@code seq} in two arrays sized up front, so recording allocates nothing.
 */
public final class LatencyRecorder {

    private static final long UNSET = Long.MIN_VALUE;

    private final AtomicLongArray committed;
    private final AtomicLongArray started;

    LatencyRecorder(int capacity) {
        committed = new AtomicLongArray(capacity);
        started = new AtomicLongArray(capacity);
        for (int i = 0; i < capacity; i++) {
            committed.set(i, UNSET);
            started.set(i, UNSET);
        }
    }

    void committed(long seq, long nanos) {
        committed.set((int) seq, nanos);
    }

    void started(long seq, long nanos) {
        started.set((int) seq, nanos);
    }

    /** The latency figures of the first {@code count} jobs, over those that both committed and started. */
    Latency summarize(int count) {
        long[] micros = new long[count];
        int n = 0;
        for (int i = 0; i < count; i++) {
            long c = committed.get(i);
            long s = started.get(i);
            if (c != UNSET && s != UNSET) {
                // A job can start a hair before its enqueuer hears the commit: that is no wait at all.
                micros[n++] = Math.max(0, (s - c) / 1_000);
            }
        }
        long[] sorted = Arrays.copyOf(micros, n);
        Arrays.sort(sorted);
        return new Latency(n, percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99),
                n == 0 ? 0 : sorted[n - 1] / 1000.0);
    }

    /** The nearest-rank percentile, in milliseconds. */
    private static double percentile(long[] sorted, int p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)] / 1000.0;
    }

    /** Latency from enqueue commit to job start, in milliseconds, over {@code count} jobs. */
    public record Latency(int count, double p50, double p90, double p99, double max) {
    }
}
