package io.backtick.runner.queue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;

/**
 * What went wrong in one attempt, kept on the job in its {@code errors} array.
 *
 * @param kind what sort of failure: {@code exception}, {@code binding}, {@code timeout} and so on
 */
public record AttemptError(int attempt, Instant at, String kind, String errorClass, String message, String stackTrace) {

    /** Stack traces are cut at this many characters so a runaway recursion cannot bloat a row. */
    static final int MAX_TRACE = 16_000;

    public static AttemptError of(int attempt, Instant at, String kind, Throwable error) {
        StringWriter trace = new StringWriter();
        error.printStackTrace(new PrintWriter(trace));
        String text = trace.toString();
        if (text.length() > MAX_TRACE) {
            text = text.substring(0, MAX_TRACE) + "\n\t... (cut at " + MAX_TRACE + " characters)";
        }
        return new AttemptError(attempt, at, kind, error.getClass().getName(),
                storable(String.valueOf(error.getMessage())), storable(text));
    }

    /** jsonb cannot hold the NUL character, which a message may carry; show it instead. */
    private static String storable(String s) {
        return s.indexOf('\0') < 0 ? s : s.replace("\0", "\\0");
    }
}
