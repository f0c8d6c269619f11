package io.backtick.api;

import java.time.Duration;

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

    /**
     * Declares a worker that runs every {@code interval}: the seed's
     * {@code (define-recurring heartbeat-every-5-minutes (* 1000 60 5) [] ...)}. The first run
     * comes one interval after any runner first sees the schedule.
     */
    default Workers recurring(String name, Duration interval, ScheduledWorker worker) {
        return scheduled(name, Schedule.every(interval), WorkerOptions.defaults(), worker);
    }

    /**
     * Declares a worker that runs at the times a six-field cron expression (seconds first) names:
     * the seed's {@code (define-cron twice-in-the-afternoon "0 0 14,16 * * *" [] ...)}.
     */
    default Workers cron(String name, String expression, ScheduledWorker worker) {
        return scheduled(name, Schedule.cron(expression), WorkerOptions.defaults(), worker);
    }

    /**
     * Declares a scheduled worker with its own schedule options (zone, missed ticks) and worker
     * options. Every tick becomes exactly one job, whatever the number of runners.
     */
    Workers scheduled(String name, Schedule schedule, WorkerOptions options, ScheduledWorker worker);
}
