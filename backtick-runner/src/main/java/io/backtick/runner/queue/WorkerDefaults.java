package io.backtick.runner.queue;

/** A worker's declared defaults, as stored in the {@code workers} table for clients to use. */
public record WorkerDefaults(String name, String queue, int priority, int maxAttempts, Long timeoutMillis) {
}
