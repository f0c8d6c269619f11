package io.backtick.runner.bench;

import io.backtick.runner.config.ConfigException;
import java.time.Duration;
import java.util.Objects;

/**
 * What one bench run does, validated once.
 *
 * @param mode     burn-down (insert {@code jobs}, then process them) or continuous (enqueue at {@code rate} for {@code duration})
 * @param jobs     burn-down: how many jobs are timed
 * @param backlog  burn-down: how many more jobs wait beneath the timed ones (enqueued before timing, lower priority)
 * @param threads  the runner's worker threads
 * @param rate     continuous: jobs enqueued per second
 * @param duration continuous: how long jobs are enqueued
 * @param keep     leave the schema in place at the end, for inspection
 * @param analyze  burn-down: refresh the planner's statistics after the enqueue, before timing the runner
 */
public record BenchOptions(Mode mode, int jobs, int backlog, int threads, double rate, Duration duration, boolean keep,
                           boolean analyze) {

    /** Jobs one continuous run may time: two arrays of this many longs stay well inside the launcher's heap. */
    public static final int MAX_CONTINUOUS_JOBS = 2_000_000;

    public enum Mode {
        BURN_DOWN("burn-down"),
        CONTINUOUS("continuous");

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
        if (mode == Mode.BURN_DOWN) {
            if (jobs < 1) {
                throw new ConfigException("--jobs must be at least 1, was " + jobs);
            }
            if (backlog < 0) {
                throw new ConfigException("--backlog must not be negative, was " + backlog);
            }
        } else {
            Objects.requireNonNull(duration, "duration");
            if (!(rate > 0) || Double.isInfinite(rate)) {
                throw new ConfigException("--rate must be a positive number of jobs per second, was " + rate);
            }
            if (duration.isNegative() || duration.isZero()) {
                throw new ConfigException("--duration must be positive, was " + duration);
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

    /** Continuous mode: how many jobs the run enqueues. */
    public int continuousJobs() {
        return (int) Math.floor(rate * duration.toNanos() / 1e9);
    }
}
