package io.backtick.api;

/** A failure to reach or use the queue, with a message that says what went wrong. */
public class BacktickException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public BacktickException(String message) {
        super(message);
    }

    public BacktickException(String message, Throwable cause) {
        super(message, cause);
    }
}
