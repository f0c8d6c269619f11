package io.backtick.runner.plugin;

import io.backtick.api.Worker;
import io.backtick.api.WorkerOptions;
import io.backtick.runner.queue.WorkerDefaults;
import java.util.Objects;

/**
 * A worker as a plugin declared it.
 *
 * @param source the plugin that declared it (its jar or directory name), for messages
 */
public record WorkerDefinition(String name, Class<?> argsType, WorkerOptions options, Worker<Object> worker,
                               String source) {

    public WorkerDefinition {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(argsType, "argsType");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(worker, "worker");
    }

    public WorkerDefaults defaults() {
        return new WorkerDefaults(name, options.queue(), options.priority(), options.maxAttempts(),
                options.timeout().map(java.time.Duration::toMillis).orElse(null));
    }
}
