package io.backtick.runner.queue;

import io.backtick.api.JobState;
import java.time.Instant;

/** A job as stored, for listings and tests. {@code errorsJson} is the JSON array of attempt errors; {@code key} the job's unique key, or null. */
public record JobView(
        long id,
        String worker,
        String queue,
        String argsJson,
        JobState state,
        int priority,
        int attempt,
        int maxAttempts,
        Instant runAt,
        Instant createdAt,
        Instant attemptedAt,
        Instant finalizedAt,
        String runnerId,
        String errorsJson,
        String key) {
}
