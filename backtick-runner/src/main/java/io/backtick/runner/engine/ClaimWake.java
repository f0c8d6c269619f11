package io.backtick.runner.engine;

import io.backtick.runner.queue.JobQueue;

/** How the producer is told to claim now rather than at its next poll, and from where. */
public interface ClaimWake {

    /** Jobs may be ready after where the last claim ended. */
    void wake();

    /**
     * Jobs were made available from {@code start} on in claim order (a notification's point, or
     * this runner's stager or scheduler).
     */
    void wakeFrom(JobQueue.ClaimPosition start);

    /** Jobs may be ready anywhere in claim order: claim from the head. */
    void wakeFromHead();
}
