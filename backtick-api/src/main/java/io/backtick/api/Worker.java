package io.backtick.api;

/**
 * The code that runs a job. Returning normally completes the job; throwing fails this attempt,
 * and the job is tried again after a backoff until it runs out of attempts.
 *
 * @param <A> the type the job's arguments are bound to
 */
@FunctionalInterface
public interface Worker<A> {

    void perform(A args, JobContext job) throws Exception;
}
