package io.backtick.api;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One job to enqueue: a worker's name and its arguments, and optionally when to run it and the
 * queue, priority and maximum attempts to use instead of the worker's defaults. Immutable.
 *
 * <pre>{@code
 * client.enqueue(JobRequest.of("send-receipt", orderId).in(Duration.ofMinutes(5)).withPriority(10));
 * }</pre>
 */
public final class JobRequest {

    /** The longest key {@link #withKey} takes. */
    public static final int MAX_KEY_LENGTH = 500;

    private final String worker;
    private final String argsJson;
    private final Instant runAt;
    private final Duration delay;
    private final String queue;
    private final Integer priority;
    private final Integer maxAttempts;
    private final String key;

    private JobRequest(String worker, String argsJson, Instant runAt, Duration delay, String queue,
                       Integer priority, Integer maxAttempts, String key) {
        this.worker = Names.requireName("worker", worker);
        this.argsJson = argsJson;
        this.runAt = runAt;
        this.delay = delay;
        this.queue = queue == null ? null : Names.requireName("queue", queue);
        this.priority = priority;
        this.maxAttempts = maxAttempts;
        if (maxAttempts != null && maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, was " + maxAttempts);
        }
        if (key != null && (key.isBlank() || key.length() > MAX_KEY_LENGTH)) {
            throw new IllegalArgumentException("a job's key must be 1 to " + MAX_KEY_LENGTH + " characters and not blank, was '"
                    + (key.length() > 40 ? key.substring(0, 40) + "..." : key) + "'");
        }
        this.key = key;
    }


    /**
     * A job for {@code worker} with positional arguments, written as a JSON array:
     * {@code of("log-sum", 3, 4)} stores {@code [3,4]}.
     */
    public static JobRequest of(String worker, Object... args) {
        return new JobRequest(worker, JsonWriter.write(args == null ? new Object[] {null} : args),
                null, null, null, null, null, null);
    }

    /** A job whose arguments are a list, written as a JSON array. */
    public static JobRequest ofList(String worker, List<?> args) {
        return new JobRequest(worker, JsonWriter.write(Objects.requireNonNull(args, "args")),
                null, null, null, null, null, null);
    }

    /**
     * A job whose arguments are given as JSON text, stored as they are. A JSON array holds
     * positional arguments; any other value is stored as the one argument it is.
     */
    public static JobRequest ofJson(String worker, String argsJson) {
        Objects.requireNonNull(argsJson, "argsJson");
        String trimmed = argsJson.strip();
        String array = trimmed.startsWith("[") ? trimmed : "[" + trimmed + "]";
        return new JobRequest(worker, array, null, null, null, null, null, null);
    }

    /** Runs the job no earlier than {@code time}. */
    public JobRequest at(Instant time) {
        return new JobRequest(worker, argsJson, Objects.requireNonNull(time, "time"), null, queue, priority,
                maxAttempts, key);
    }

    /** Runs the job no earlier than {@code delay} after it is enqueued, by the database's clock. */
    public JobRequest in(Duration delay) {
        Objects.requireNonNull(delay, "delay");
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay must not be negative, was " + delay);
        }
        return new JobRequest(worker, argsJson, null, delay, queue, priority, maxAttempts, key);
    }

    public JobRequest withQueue(String queue) {
        return new JobRequest(worker, argsJson, runAt, delay, queue, priority, maxAttempts, key);
    }

    public JobRequest withPriority(int priority) {
        return new JobRequest(worker, argsJson, runAt, delay, queue, priority, maxAttempts, key);
    }

    public JobRequest withMaxAttempts(int maxAttempts) {
        return new JobRequest(worker, argsJson, runAt, delay, queue, priority, maxAttempts, key);
    }

    /**
     * Gives the job a key, unique among its worker's jobs that have not ended (waiting, scheduled,
     * running or waiting to retry). Enqueueing a job whose key such a job holds inserts nothing and
     * returns that job's id, so an application may enqueue "refresh account 42" on every change and
     * get one job at a time. Once the job has ended the key is free again: to run something at most
     * once ever, enqueue it in your own transaction beside a row of your own that says it was done.
     */
    public JobRequest withKey(String key) {
        return new JobRequest(worker, argsJson, runAt, delay, queue, priority, maxAttempts,
                Objects.requireNonNull(key, "key"));
    }

    public String worker() {
        return worker;
    }

    /** The arguments as the JSON array that will be stored. */
    public String argsJson() {
        return argsJson;
    }

    /** The time asked for with {@link #at}, or null. */
    public Instant runAt() {
        return runAt;
    }

    /** The delay asked for with {@link #in}, or null. */
    public Duration delay() {
        return delay;
    }

    /** The queue asked for, or null for the worker's default. */
    public String queue() {
        return queue;
    }

    /** The priority asked for, or null for the worker's default. */
    public Integer priority() {
        return priority;
    }

    /** The maximum attempts asked for, or null for the worker's default. */
    public Integer maxAttempts() {
        return maxAttempts;
    }

    /** The key given with {@link #withKey}, or null. */
    public String key() {
        return key;
    }

    @Override
    public String toString() {
        return "JobRequest[worker=" + worker + ", args=" + abbreviate(argsJson)
                + (runAt != null ? ", at=" + runAt : "") + (delay != null ? ", in=" + delay : "")
                + (queue != null ? ", queue=" + queue : "") + (priority != null ? ", priority=" + priority : "")
                + (maxAttempts != null ? ", maxAttempts=" + maxAttempts : "") + (key != null ? ", key=" + key : "") + "]";
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
