package io.backtick.runner.config;

/** Configuration a user gave that cannot work; the message says what to fix, in one line. */
public class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
