package io.backtick.api;

/**
 * The life of a job, mirroring the {@code job_state} type in the database. Each constant says
 * which part of the runner moves a job into the state and out of it.
 */
public enum JobState {

    /**
     * Waiting for a time in the future. In: the client, when a job is enqueued to run later. Out:
     * the stager, to {@link #AVAILABLE} once its time has come (or {@code backtick jobs retry}, at once).
     */
    SCHEDULED,

    /**
     * Ready to run. In: the client (a job due now), the stager (a scheduled or retryable job
     * that came due) and {@code backtick jobs retry} (any job not running). Out: the producer, to
     * {@link #RUNNING}, when it claims the job.
     */
    AVAILABLE,

    /**
     * Held by one runner, whose id the job carries. In: the producer, which claims the job and
     * counts the attempt in the same statement. Out: the completer, to {@link #COMPLETED},
     * {@link #RETRYABLE} or {@link #DISCARDED} with the attempt's outcome.
     */
    RUNNING,

    /**
     * Failed an attempt and waits out its backoff. In: the completer, when an attempt throws and
     * attempts remain. Out: the stager, to {@link #AVAILABLE}, when the backoff is over (or
     * {@code backtick jobs retry}, at once).
     */
    RETRYABLE,

    /**
     * Finished: the worker returned. In: the completer. Out: the pruner, which deletes old ones, or
     * {@code backtick jobs retry}, to {@link #AVAILABLE}.
     */
    COMPLETED,

    /**
     * Finished without success: the last attempt failed, or the arguments could not be bound to
     * the worker's type. In: the completer. Out: the pruner, or {@code backtick jobs retry}, to
     * {@link #AVAILABLE} with one more attempt if it had used them all.
     */
    DISCARDED,

    /**
     * Finished: cancelled before it could complete. In: {@code backtick jobs cancel}, or the
     * completer for a running job told to stop. Out: the pruner, or {@code backtick jobs retry}.
     */
    CANCELLED;

    /** Whether the job has reached an end state and will not run again. */
    public boolean isFinal() {
        return this == COMPLETED || this == DISCARDED || this == CANCELLED;
    }

    /** The name used in the database and on the command line. */
    public String sqlName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
