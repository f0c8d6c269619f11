package io.backtick.runner.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.util.Map;
import org.slf4j.Logger;

/**
 * How the {@code backtick} command logs: everything to stderr (stdout is for command output: job
 * ids, listings), at {@code BACKTICK_LOG_LEVEL} (INFO by default), with the job and attempt of
 * log lines written while a job runs, and the libraries' chatter held to warnings.
 *
 * <p>Set up in code rather than read from a {@code logback.xml}: Logback reads XML through the
 * JDK's XML parser and its own configuration model, about 400 classes loaded and run once, which
 * took a third of the time of a command as short as {@code backtick --version}. A configuration
 * file of one's own still wins: one named by {@code -Dlogback.configurationFile}, or a
 * {@code logback-test.xml} on the class path (the tests' own).
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogSetup extends ContextAwareBase implements Configurator {

    static final String PATTERN = "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level [%thread] %logger{0}"
            + "%replace( job=%X{job} attempt=%X{attempt}){' job= attempt=$', ''}: %msg%n";

    /** Libraries and the least level of theirs that is logged. */
    static final Map<String, Level> QUIETER = Map.of(
            "com.zaxxer.hikari", Level.WARN,
            // When the database goes away, HikariCP warns of every broken connection with a stack
            // trace and suggests a shorter maxLifetime; the runner says so itself in one line
            // ("Lost the database …") and again when it is back.
            "com.zaxxer.hikari.pool.ProxyConnection", Level.ERROR,
            "com.zaxxer.hikari.pool.PoolBase", Level.ERROR,
            "org.flywaydb", Level.WARN,
            "org.jooq", Level.WARN,
            "io.zonky", Level.WARN,
            "org.postgresql", Level.WARN);

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null
                || LogSetup.class.getClassLoader().getResource("logback-test.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        apply(context, System.getenv("BACKTICK_LOG_LEVEL"));
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** Sets up {@code context} to log at {@code level} (INFO when null or not a level). */
    static void apply(LoggerContext context, String level) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(level, Level.INFO));
        root.addAppender(stderr);
        QUIETER.forEach((name, least) -> context.getLogger(name).setLevel(least));
    }
}
