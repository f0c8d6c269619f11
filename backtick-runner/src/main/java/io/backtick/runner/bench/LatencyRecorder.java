package io.backtick.runner.bench;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Times each continuous-mode job from the moment its enqueue committed (the client's call
 * returned), or for a job scheduled ahead ({@code --in}) from the moment it came due, to the moment its worker started, by {@link System#nanoTime()} in this one JVM. Job
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
        return gcEffect(count, List.of()).clear();
    }

    /**
     * How the collector's pauses bore on the first {@code count} jobs: how many waited through one
     * (a pause, padded by {@link GcPauses#PAD_NANOS} on either side, overlaps the time from the
     * job's commit to its start), and the latency figures of the others, whose wait the collector
     * did not stop. {@code pauses} is in order of time and its windows do not overlap.
     */
    GcEffect gcEffect(int count, List<GcPauses.Pause> pauses) {
        long[] clear = new long[count];
        int n = 0;
        int throughPause = 0;
        for (int i = 0; i < count; i++) {
            long c = committed.get(i);
            long s = started.get(i);
            if (c == UNSET || s == UNSET) {
                continue;
            }
            if (overlapsPause(c, s, pauses)) {
                throughPause++;
            } else {
                // A job can start a hair before its enqueuer hears the commit: that is no wait at all.
                clear[n++] = Math.max(0, (s - c) / 1_000);
            }
        }
        double pauseMillis = 0;
        double longest = 0;
        for (GcPauses.Pause p : pauses) {
            pauseMillis += p.millis();
            longest = Math.max(longest, p.millis());
        }
        return new GcEffect(pauses.size(), pauseMillis, longest, throughPause, figures(Arrays.copyOf(clear, n)));
    }

    /** Whether a padded pause overlaps the wait from {@code committed} to {@code started}. */
    private static boolean overlapsPause(long committed, long started, List<GcPauses.Pause> pauses) {
        // The first pause that ends (padded) at or after the commit; pauses end in the order they start.
        int low = 0;
        int high = pauses.size();
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (pauses.get(mid).endNanos() + GcPauses.PAD_NANOS < committed) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low < pauses.size() && pauses.get(low).startNanos() - GcPauses.PAD_NANOS <= started;
    }

    private static Latency figures(long[] micros) {
        Arrays.sort(micros);
        int n = micros.length;
        return new Latency(n, percentile(micros, 50), percentile(micros, 90), percentile(micros, 99),
                n == 0 ? 0 : micros[n - 1] / 1000.0);
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

    /**
     * The collector's pauses while timed: how many, how long in all and at longest (milliseconds),
     * how many jobs waited through one, and the latency of the jobs that did not.
     */
    public record GcEffect(int pauses, double pauseMillis, double longestPauseMillis, int jobsThroughPause,
                           Latency clear) {
    }
}
