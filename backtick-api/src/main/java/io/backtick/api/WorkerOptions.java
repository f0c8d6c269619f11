package io.backtick.api;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The options a worker declares: its jobs' default queue, priority and maximum attempts, and how
 * long one attempt may run. Immutable; each {@code with…} method returns a new value.
 *
 * <p>A job enqueued without a queue, priority or maximum attempts of its own takes these.
 */
public final class WorkerOptions {

    public static final String DEFAULT_QUEUE = "default";
    public static final int DEFAULT_PRIORITY = 0;
    /** As in the seed: a job is tried 16 times before it is discarded. */
    public static final int DEFAULT_MAX_ATTEMPTS = 16;

    private static final WorkerOptions DEFAULTS =
            new WorkerOptions(DEFAULT_QUEUE, DEFAULT_PRIORITY, DEFAULT_MAX_ATTEMPTS, null);

    private final String queue;
    private final int priority;
    private final int maxAttempts;
    private final Duration timeout;

    private WorkerOptions(String queue, int priority, int maxAttempts, Duration timeout) {
        this.queue = Names.requireName("queue", queue);
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, was " + maxAttempts);
        }
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
        this.priority = priority;
        this.maxAttempts = maxAttempts;
        this.timeout = timeout;
    }

    /** Queue {@code default}, priority 0, 16 attempts, the runner's default timeout. */
    public static WorkerOptions defaults() {
        return DEFAULTS;
    }

    public WorkerOptions withQueue(String queue) {
        return new WorkerOptions(queue, priority, maxAttempts, timeout);
    }

    /** Jobs with a higher priority are claimed first; equal priorities run in order of due time. */
    public WorkerOptions withPriority(int priority) {
        return new WorkerOptions(queue, priority, maxAttempts, timeout);
    }

    public WorkerOptions withMaxAttempts(int maxAttempts) {
        return new WorkerOptions(queue, priority, maxAttempts, timeout);
    }

    /** How long one attempt may run before it is interrupted and counted as failed. */
    public WorkerOptions withTimeout(Duration timeout) {
        return new WorkerOptions(queue, priority, maxAttempts, Objects.requireNonNull(timeout, "timeout"));
    }

    public String queue() {
        return queue;
    }

    public int priority() {
        return priority;
    }

    public int maxAttempts() {
        return maxAttempts;
    }

    /** The worker's own timeout, or empty to take the runner's default. */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeout);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WorkerOptions other
                && queue.equals(other.queue)
                && priority == other.priority
                && maxAttempts == other.maxAttempts
                && Objects.equals(timeout, other.timeout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(queue, priority, maxAttempts, timeout);
    }

    @Override
    public String toString() {
        return "WorkerOptions[queue=" + queue + ", priority=" + priority + ", maxAttempts=" + maxAttempts
                + ", timeout=" + (timeout == null ? "runner default" : timeout) + "]";
    }
}
