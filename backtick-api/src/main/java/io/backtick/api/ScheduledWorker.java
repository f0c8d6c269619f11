package io.backtick.api;

/**
 * The code a recurring or cron worker runs at each tick. {@link JobContext#scheduledFor()} tells
 * which tick. Like any worker, it may also be enqueued by hand, without arguments.
 */
@FunctionalInterface
public interface ScheduledWorker {

    void perform(JobContext job) throws Exception;
}
