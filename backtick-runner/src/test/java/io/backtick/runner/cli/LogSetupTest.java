package io.backtick.runner.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

class LogSetupTest {

    @Test
    void logsToStderrNamingTheJobAndAttemptOfALineWrittenWhileAJobRuns() {
        LoggerContext context = new LoggerContext();
        LogSetup.apply(context, null);
        ch.qos.logback.classic.Logger worker = context.getLogger("io.backtick.examples.ExamplesPlugin");
        ConsoleAppender<ILoggingEvent> stderr =
                (ConsoleAppender<ILoggingEvent>) context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("STDERR");
        assertThat(stderr.getTarget()).isEqualTo("System.err");

        LoggingEvent inJob = new LoggingEvent(null, worker, Level.INFO, "sum {} + {}", null, new Object[] {3, 4});
        inJob.setMDCPropertyMap(Map.of("job", "42", "attempt", "2"));
        inJob.setThreadName("backtick-worker-1");
        LoggingEvent outside = new LoggingEvent(null, worker, Level.WARN, "no job", null, null);
        outside.setMDCPropertyMap(Map.of());
        outside.setThreadName("main");

        assertThat(new String(stderr.getEncoder().encode(inJob), StandardCharsets.UTF_8))
                .matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  \\[backtick-worker-1\\] "
                        + "ExamplesPlugin job=42 attempt=2: sum 3 \\+ 4\\R");
        assertThat(new String(stderr.getEncoder().encode(outside), StandardCharsets.UTF_8))
                .endsWith(" WARN  [main] ExamplesPlugin: no job" + System.lineSeparator());
    }

    @Test
    void logsAtTheLevelAskedForAndHoldsTheLibrariesToWarnings() {
        assertThat(rootLevel("debug")).isEqualTo(Level.DEBUG);
        assertThat(rootLevel("WARN")).isEqualTo(Level.WARN);
        assertThat(rootLevel(null)).isEqualTo(Level.INFO);
        assertThat(rootLevel("loud")).isEqualTo(Level.INFO);

        LoggerContext context = new LoggerContext();
        LogSetup.apply(context, "debug");
        assertThat(context.getLogger("org.jooq.impl.DefaultDSLContext").getEffectiveLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("com.zaxxer.hikari.pool.PoolBase").getEffectiveLevel()).isEqualTo(Level.ERROR);
        assertThat(context.getLogger("io.backtick.runner.engine.Runner").getEffectiveLevel()).isEqualTo(Level.DEBUG);
    }

    private static Level rootLevel(String asked) {
        LoggerContext context = new LoggerContext();
        LogSetup.apply(context, asked);
        return context.getLogger(Logger.ROOT_LOGGER_NAME).getLevel();
    }
}
