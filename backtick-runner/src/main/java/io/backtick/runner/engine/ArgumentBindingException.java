package io.backtick.runner.engine;

/** A job's arguments do not fit its worker's declared type. Retrying cannot help: the job is discarded. */
public class ArgumentBindingException extends Exception {

    private static final long serialVersionUID = 1L;

    public ArgumentBindingException(String message) {
        super(message);
    }

    public ArgumentBindingException(String message, Throwable cause) {
        super(message, cause);
    }
}
