package io.backtick.api;

/**
 * Where a plugin declares its workers: the Java form of the seed's {@code define-worker}.
 * Worker names are unique across every plugin a runner loads.
 */
public interface Workers {

    /**
     * Declares a worker with the default {@link WorkerOptions}.
     *
     * @param name     the name jobs are enqueued under, for example {@code "log-sum"}
     * @param argsType what the job's JSON arguments are bound to: a record (positional arguments
     *                 fill its components in order), a {@link java.util.List}, {@link Json} for
     *                 the raw text, or any other type a single argument converts to
     * @param worker   the code that runs each job
     */
    default <A> Workers define(String name, Class<A> argsType, Worker<? super A> worker) {
        return define(name, argsType, WorkerOptions.defaults(), worker);
    }

    /** Declares a worker with its own options (queue, priority, maximum attempts, timeout). */
    <A> Workers define(String name, Class<A> argsType, WorkerOptions options, Worker<? super A> worker);
}
