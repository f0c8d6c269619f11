package io.backtick.runner.embedded;

/** The embedded PostgreSQL cannot run here; the message says why and what to do instead. */
public class EmbeddedDatabaseException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public EmbeddedDatabaseException(String message, Throwable cause) {
        super(message, cause);
    }
}
