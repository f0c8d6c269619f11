package io.backtick.api;

import java.util.Objects;

/**
 * JSON text, passed through as it is. As a worker's argument type it receives the job's whole
 * argument array unparsed, for workers that bind arguments with their own JSON library. As an
 * argument to {@link BacktickClient#schedule}, it is written into the job's arguments verbatim
 * (the database checks that it is valid JSON).
 */
public final class Json {

    private final String text;

    private Json(String text) {
        this.text = Objects.requireNonNull(text, "json text");
    }

    public static Json raw(String text) {
        return new Json(text);
    }

    public String text() {
        return text;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Json other && text.equals(other.text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    @Override
    public String toString() {
        return text;
    }
}
