package io.backtick.runner.config;

import java.time.Duration;
import java.util.Objects;

/**
 * How a runner runs: validated once, immutable after.
 *
 * @param runnerId       this runner's id, stored on the jobs it holds
 * @param threads        how many jobs run at once (the seed's pool size, 16)
 * @param pollInterval   how often the queue is polled when nothing wakes the producer (the seed's 1 s)
 * @param retryBase      the first retry's delay; each later one doubles (the seed's 10 s)
 * @param shutdownGrace  how long running jobs may finish when the runner stops
 * @param defaultTimeout how long one attempt may run when its worker sets no timeout; null for no limit
 * @param claimBatch     the most jobs one claim takes
 * @param scheduleZone   the zone cron schedules are read in when they name none
 * @param retainCompleted how long completed jobs are kept (the seed's 7 days)
 * @param retainDiscarded how long discarded and cancelled jobs are kept
 */
public record RunnerSettings(
        String runnerId,
        int threads,
        Duration pollInterval,
        Duration retryBase,
        Duration shutdownGrace,
        Duration defaultTimeout,
        int claimBatch,
        java.time.ZoneId scheduleZone,
        Duration retainCompleted,
        Duration retainDiscarded) {

    public static final int DEFAULT_THREADS = 16;
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
    public static final Duration DEFAULT_RETRY_BASE = Duration.ofSeconds(10);
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(30);
    public static final int DEFAULT_CLAIM_BATCH = 4_000;
    public static final Duration DEFAULT_RETAIN_COMPLETED = Duration.ofDays(7);
    public static final Duration DEFAULT_RETAIN_DISCARDED = Duration.ofDays(30);

    public RunnerSettings {
        Objects.requireNonNull(runnerId, "runnerId");
        if (threads < 1 || threads > 10_000) {
            throw new ConfigException("--threads must be between 1 and 10000, was " + threads);
        }
        requirePositive("--poll-interval", pollInterval);
        Objects.requireNonNull(retryBase, "retryBase");
        if (retryBase.isNegative()) {
            throw new ConfigException("--retry-base must not be negative, was " + retryBase);
        }
        Objects.requireNonNull(shutdownGrace, "shutdownGrace");
        if (shutdownGrace.isNegative()) {
            throw new ConfigException("--shutdown-grace must not be negative, was " + shutdownGrace);
        }
        if (defaultTimeout != null) {
            requirePositive("--job-timeout", defaultTimeout);
        }
        Objects.requireNonNull(scheduleZone, "scheduleZone");
        requirePositive("--retain-completed", retainCompleted);
        requirePositive("--retain-discarded", retainDiscarded);
        if (claimBatch < 1) {
            throw new ConfigException("claim batch must be at least 1, was " + claimBatch);
        }
    }

    /** The seed's defaults, for a runner with the given id. */
    public static RunnerSettings defaults(String runnerId) {
        return new RunnerSettings(runnerId, DEFAULT_THREADS, DEFAULT_POLL_INTERVAL, DEFAULT_RETRY_BASE,
                DEFAULT_SHUTDOWN_GRACE, null, DEFAULT_CLAIM_BATCH,
                java.time.ZoneOffset.UTC, DEFAULT_RETAIN_COMPLETED, DEFAULT_RETAIN_DISCARDED);
    }

    public RunnerSettings withThreads(int threads) {
        return new RunnerSettings(runnerId, threads, pollInterval, retryBase, shutdownGrace, defaultTimeout, claimBatch, scheduleZone,
                retainCompleted, retainDiscarded);
    }

    public RunnerSettings withPollInterval(Duration pollInterval) {
        return new RunnerSettings(runnerId, threads, pollInterval, retryBase, shutdownGrace, defaultTimeout, claimBatch, scheduleZone,
                retainCompleted, retainDiscarded);
    }

    public RunnerSettings withRetryBase(Duration retryBase) {
        return new RunnerSettings(runnerId, threads, pollInterval, retryBase, shutdownGrace, defaultTimeout, claimBatch, scheduleZone,
                retainCompleted, retainDiscarded);
    }

    public RunnerSettings withShutdownGrace(Duration shutdownGrace) {
        return new RunnerSettings(runnerId, threads, pollInterval, retryBase, shutdownGrace, defaultTimeout, claimBatch, scheduleZone,
                retainCompleted, retainDiscarded);
    }

    public RunnerSettings withDefaultTimeout(Duration defaultTimeout) {
        return new RunnerSettings(runnerId, threads, pollInterval, retryBase, shutdownGrace, defaultTimeout, claimBatch, scheduleZone,
                retainCompleted, retainDiscarded);
    }

    public RunnerSettings withScheduleZone(java.time.ZoneId scheduleZone) {
        return new RunnerSettings(runnerId, threads, pollInterval, retryBase, shutdownGrace, defaultTimeout, claimBatch, scheduleZone,
                retainCompleted, retainDiscarded);
    }

    public RunnerSettings withClaimBatch(int claimBatch) {
        return new RunnerSettings(runnerId, threads, pollInterval, retryBase, shutdownGrace, defaultTimeout, claimBatch, scheduleZone,
                retainCompleted, retainDiscarded);
    }

    private static void requirePositive(String option, Duration value) {
        Objects.requireNonNull(value, option);
        if (value.isNegative() || value.isZero()) {
            throw new ConfigException(option + " must be positive, was " + value);
        }
    }
}
