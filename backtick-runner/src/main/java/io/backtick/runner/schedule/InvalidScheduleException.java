package io.backtick.runner.schedule;

/** A schedule that cannot work: a bad cron expression, an unknown zone. The message says why. */
public class InvalidScheduleException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public InvalidScheduleException(String message) {
        super(message);
    }
}
