package io.backtick.runner.queue;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.SQLException;

/** The database could not be reached or refused us; the message says why in one line. */
public class DatabaseUnavailableException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public DatabaseUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * The database at {@code where} could not be reached when a command or runner started. Where
     * the address itself is the likely fault (refused, no route, timed out, unknown host), the
     * line also says what to check, since the driver's own words ("Connection refused") do not.
     */
    public static DatabaseUnavailableException cannotConnect(String where, Throwable e) {
        return new DatabaseUnavailableException("cannot connect to the database " + where + ": " + reason(e)
                + (unreachable(e) ? "; check that PostgreSQL is running there and that --database-url "
                        + "(BACKTICK_DATABASE_URL) names its host and port" : ""), e);
    }

    private static boolean unreachable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ConnectException || t instanceof NoRouteToHostException
                    || t instanceof SocketTimeoutException || t instanceof UnknownHostException) {
                return true;
            }
        }
        return false;
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
