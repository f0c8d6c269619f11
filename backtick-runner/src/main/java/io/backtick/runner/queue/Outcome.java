package io.backtick.runner.queue;

import java.time.Duration;

/**
 * How one attempt of a running job ended, as the completer writes it. Each outcome is guarded by
 * the job's id and attempt number, so a late result never overwrites a newer attempt.
 */
public record Outcome(long jobId, int attempt, Kind kind, Duration retryIn, AttemptError error) {

    public enum Kind {
        /** The worker returned: the job is completed. */
        COMPLETED,
        /** The attempt failed and attempts remain: the job is retryable after {@code retryIn}. */
        RETRY,
        /** The attempt failed for good (last attempt, or arguments that cannot bind): discarded. */
        DISCARD,
        /** The runner stopped before the job finished: the job is available again, the attempt not counted. */
        RELEASE,
        /** Someone cancelled the job while it ran, and it has returned: the job is cancelled. */
        CANCEL
    }

    public static Outcome completed(long jobId, int attempt) {
        return new Outcome(jobId, attempt, Kind.COMPLETED, null, null);
    }

    public static Outcome retry(long jobId, int attempt, Duration retryIn, AttemptError error) {
        return new Outcome(jobId, attempt, Kind.RETRY, retryIn, error);
    }

    public static Outcome discard(long jobId, int attempt, AttemptError error) {
        return new Outcome(jobId, attempt, Kind.DISCARD, null, error);
    }

    public static Outcome cancel(long jobId, int attempt) {
        return new Outcome(jobId, attempt, Kind.CANCEL, null, null);
    }

    public static Outcome release(long jobId, int attempt) {
        return new Outcome(jobId, attempt, Kind.RELEASE, null, null);
    }
}
