package io.backtick.api;

import java.time.Instant;
import org.slf4j.Logger;

/** What a running job knows about itself. One instance per attempt; safe to use from any thread. */
public interface JobContext {

    /** The job's id in the queue. */
    long jobId();

    /** The worker's name. */
    String worker();

    /** The queue the job was enqueued on. */
    String queue();

    /** This attempt's number: 1 on the first run, 2 on the first retry, and so on. */
    int attempt();

    /** How many attempts the job gets before it is discarded. */
    int maxAttempts();

    /** When the job was enqueued. */
    Instant createdAt();

    /** For a job a schedule created: the tick it runs for. Empty for jobs enqueued by hand. */
    java.util.Optional<Instant> scheduledFor();

    /** A logger named after the worker; its lines carry the job id and attempt. */
    Logger logger();

    /**
     * Whether the runner wants this job to stop: it is shutting down or the job was cancelled.
     * Long jobs should check this between steps and return or throw early; the runner also
     * interrupts the job's thread when it stops waiting for it.
     */
    boolean stopRequested();
}
