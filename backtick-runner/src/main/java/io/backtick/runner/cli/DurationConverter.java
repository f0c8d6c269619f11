package io.backtick.runner.cli;

import io.backtick.runner.config.ConfigException;
import io.backtick.runner.config.Durations;
import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Lets options take durations such as {@code 500ms}, {@code 30s} or {@code 5m}. */
final class DurationConverter implements ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        try {
            return Durations.parse(value);
        } catch (ConfigException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
