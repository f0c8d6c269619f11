package io.backtick.runner.bench;

import io.backtick.runner.config.ConfigException;
import java.time.Duration;
import java.util.Objects;

/**
 * What one bench run does, validated once.
 *
 * @param mode     burn-down (insert {@code jobs}, then process them), continuous (enqueue at {@code rate} for
 *                 {@code duration}) or steady (keep {@code depth} jobs waiting for {@code duration})
 * @param jobs     burn-down: how many jobs are timed
 * @param backlog  burn-down: how many more jobs wait beneath the timed ones (enqueued before timing, lower priority)
 * @param threads  each runner's worker threads
 * @param runners  how many runners share the queue (each with its own pool, producer and completer)
 * @param warmup   jobs run first, untimed, so the JVM has compiled the hot path: burn-down and steady, by runners
 *                 that then stop; continuous, the first jobs of the stream, by the runner that is then timed
 * @param rate     continuous: jobs enqueued per second
 * @param warmupRate continuous: jobs of the warm-up enqueued per second (0: at {@code rate}), so a run at a low
 *                 rate can meet a runner that has run thousands of jobs without waiting hours for them
 * @param duration continuous: how long jobs are enqueued; steady: how long the runners are timed
 * @param scheduledIn continuous: each job is enqueued to run this long after its enqueue, and timed from then
 *                 (null: to run at once, timed from its commit)
 * @param depth    steady: how many jobs are kept waiting in the queue
 * @param history  jobs already completed before the run, kept in the table as retention keeps finished jobs
 * @param keep     leave the schema in place at the end, for inspection
 * @param analyze  burn-down and steady: refresh the planner's statistics after the enqueue, before timing the runner
 */
public record BenchOptions(Mode mode, int jobs, int backlog, int threads, int runners, int warmup, double rate,
                           double warmupRate, Duration duration, Duration scheduledIn, int depth, int history, boolean keep, boolean analyze) {

    /** Jobs one continuous run may time: two arrays of this many longs stay well inside the launcher's heap. */
    public static final int MAX_CONTINUOUS_JOBS = 2_000_000;
    /** The furthest ahead continuous mode schedules its jobs ({@code --in}). */
    public static final Duration MAX_SCHEDULED_IN = Duration.ofHours(1);
    /** The deepest queue steady mode keeps: filling it is untimed but not free (about 3 s a million here). */
    public static final int MAX_DEPTH = 50_000_000;
    /** The most finished jobs the bench puts in the table before a run: some 24 GB with their indexes. */
    public static final int MAX_HISTORY = 100_000_000;

    public enum Mode {
        BURN_DOWN("burn-down"),
        CONTINUOUS("continuous"),
        STEADY("steady");

        private final String label;

        Mode(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    public BenchOptions {
        Objects.requireNonNull(mode, "mode");
        if (threads < 1 || threads > 10_000) {
            throw new ConfigException("--threads must be between 1 and 10000, was " + threads);
        }
        if (runners < 1 || runners > 64) {
            throw new ConfigException("--runners must be between 1 and 64, was " + runners);
        }
        if (warmup < 0) {
            throw new ConfigException("--warmup must not be negative, was " + warmup);
        }
        if (history < 0 || history > MAX_HISTORY) {
            throw new ConfigException("--history must be between 0 and " + MAX_HISTORY + ", was " + history);
        }
        if (mode == Mode.BURN_DOWN) {
            if (jobs < 1) {
                throw new ConfigException("--jobs must be at least 1, was " + jobs);
            }
            if (backlog < 0) {
                throw new ConfigException("--backlog must not be negative, was " + backlog);
            }
            requireNoScheduledIn(mode, scheduledIn);
        } else if (mode == Mode.STEADY) {
            requireNoScheduledIn(mode, scheduledIn);
            Objects.requireNonNull(duration, "duration");
            if (depth < 1 || depth > MAX_DEPTH) {
                throw new ConfigException("--depth must be between 1 and " + MAX_DEPTH + ", was " + depth);
            }
            if (duration.isNegative() || duration.isZero()) {
                throw new ConfigException("--duration must be positive, was " + duration);
            }
        } else {
            Objects.requireNonNull(duration, "duration");
            if (!(rate > 0) || Double.isInfinite(rate)) {
                throw new ConfigException("--rate must be a positive number of jobs per second, was " + rate);
            }
            if (duration.isNegative() || duration.isZero()) {
                throw new ConfigException("--duration must be positive, was " + duration);
            }
            if (scheduledIn != null && (scheduledIn.isNegative() || scheduledIn.compareTo(MAX_SCHEDULED_IN) > 0)) {
                throw new ConfigException("--in must be between 0 and 1h, was " + scheduledIn);
            }
            if (warmupRate < 0 || Double.isNaN(warmupRate) || Double.isInfinite(warmupRate)) {
                throw new ConfigException("--warmup-rate must be a positive number of jobs per second, was " + warmupRate);
            }
            // Fields are not assigned yet in a compact constructor: compute from the parameters.
            double total = rate * duration.toNanos() / 1e9;
            if (total < 1) {
                throw new ConfigException("--rate × --duration must make at least one job");
            }
            if (total > MAX_CONTINUOUS_JOBS) {
                throw new ConfigException("--rate × --duration must stay within " + MAX_CONTINUOUS_JOBS
                        + " jobs (each one's latency is kept in memory)");
            }
        }
    }

    private static void requireNoScheduledIn(Mode mode, Duration scheduledIn) {
        if (scheduledIn != null) {
            throw new ConfigException("--in is for continuous mode, not " + mode.label());
        }
    }

    /** Continuous mode: jobs of the warm-up enqueued per second. */
    public double warmupRateOrRate() {
        return warmupRate > 0 ? warmupRate : rate;
    }

    /** Continuous mode: how many jobs the run enqueues. */
    public int continuousJobs() {
        return (int) Math.floor(rate * duration.toNanos() / 1e9);
    }
}
