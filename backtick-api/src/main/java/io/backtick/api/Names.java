package io.backtick.api;

/** Checks the names of workers and queues, which are stored and shown verbatim. */
final class Names {

    static final int MAX_LENGTH = 200;

    private Names() {
    }

    /**
     * A name may hold any printable characters (quotes, semicolons and the like are stored as they
     * are), but must not be blank, carry control characters or run past {@value #MAX_LENGTH}.
     */
    static String requireName(String what, String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException(what + " name must not be blank");
        }
        if (name.length() > MAX_LENGTH) {
            throw new IllegalArgumentException(what + " name is longer than " + MAX_LENGTH + " characters");
        }
        for (int i = 0; i < name.length(); i++) {
            if (Character.isISOControl(name.charAt(i))) {
                throw new IllegalArgumentException(what + " name must not contain control characters");
            }
        }
        return name;
    }
}
