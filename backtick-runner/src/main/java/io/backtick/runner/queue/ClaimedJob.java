package io.backtick.runner.queue;

import java.time.Instant;

/**
 * A job this runner has claimed: it is {@code running} and its attempt has been counted.
 * {@code scheduleTick} is the tick of a job a schedule created, else null.
 */
public record ClaimedJob(
        long id,
        String worker,
        String queue,
        String argsJson,
        int attempt,
        int maxAttempts,
        Instant createdAt,
        Instant scheduleTick) {
}
