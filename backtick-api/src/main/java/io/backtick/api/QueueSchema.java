package io.backtick.api;

import java.util.regex.Pattern;

/** The name of the PostgreSQL schema that holds a queue's tables. */
public final class QueueSchema {

    public static final String DEFAULT = "backtick";

    private static final Pattern VALID = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    private QueueSchema() {
    }

    /**
     * Returns the name if it is a plain lower-case SQL identifier (letters, digits and underscores,
     * at most 63 characters, not starting with a digit), which is safe to write into SQL quoted.
     */
    public static String require(String schema) {
        if (schema == null || !VALID.matcher(schema).matches()) {
            throw new IllegalArgumentException("schema name '" + schema
                    + "' is not valid: use lower-case letters, digits and underscores (at most 63), not starting with a digit");
        }
        return schema;
    }
}
