package io.backtick.runner.queue;

import java.time.Instant;

/** A job this runner has claimed: it is {@code running} and its attempt has been counted. */
public record ClaimedJob(
        long id,
        String worker,
        String queue,
        String argsJson,
        int attempt,
        int maxAttempts,
        Instant createdAt) {
}
