package io.backtick.runner.queue;

import java.net.ConnectException;
import java.net.UnknownHostException;
import java.sql.SQLException;

/** The database could not be reached or refused us; the message says why in one line. */
public class DatabaseUnavailableException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public DatabaseUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The innermost useful message of a failure, on one line. */
    public static String reason(Throwable e) {
        Throwable deepest = e;
        String message = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            deepest = t;
            if (t instanceof SQLException || t instanceof ConnectException || t instanceof UnknownHostException) {
                message = t instanceof UnknownHostException ? "unknown host " + t.getMessage() : t.getMessage();
            }
            if (t.getCause() == t) {
                break;
            }
        }
        if (message == null) {
            message = deepest.getMessage() == null ? deepest.getClass().getSimpleName() : deepest.getMessage();
        }
        message = message.strip();
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl).strip();
    }
}
