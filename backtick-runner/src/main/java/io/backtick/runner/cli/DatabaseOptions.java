package io.backtick.runner.cli;

import io.backtick.api.QueueSchema;
import io.backtick.runner.config.ConfigDefaults;
import io.backtick.runner.config.ConfigException;
import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.config.DatabaseUrl;
import io.backtick.runner.embedded.EmbeddedDatabase;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Which database the queue lives in, shared by every subcommand. With no URL anywhere (flag,
 * environment, config file), the queue lives in the embedded PostgreSQL of {@code --data-dir}.
 */
public final class DatabaseOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    // No default shown in --help: a URL taken from the environment may carry a password.
    @Option(names = "--database-url", paramLabel = "URL",
            description = "jdbc:postgresql://host:port/db or postgres://user:pass@host:port/db. "
                    + "Env: BACKTICK_DATABASE_URL, then DATABASE_URL. Without one: the embedded database in --data-dir.")
    String databaseUrl;

    @Option(names = "--database-user", paramLabel = "USER",
            description = "Database user, if not in the URL. Env: BACKTICK_DATABASE_USER. "
                    + "The password comes from BACKTICK_DATABASE_PASSWORD, the URL or the config file, never a flag.")
    String databaseUser;

    @Option(names = "--schema", paramLabel = "NAME", defaultValue = QueueSchema.DEFAULT,
            description = "PostgreSQL schema that holds the queue (default: ${DEFAULT-VALUE}). Env: BACKTICK_SCHEMA.")
    String schema;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "backtick-data",
            description = "Where the embedded database keeps its data (default: ./${DEFAULT-VALUE}). Env: BACKTICK_DATA_DIR.")
    Path dataDir;

    /** Never a flag (it would show in the process list): the environment or the config file only. */
    private String password() {
        return Main.defaults().lookup("database-password");
    }

    /** The shared database the user configured, if any. */
    public Optional<DatabaseSettings> configured() {
        if (databaseUrl == null || databaseUrl.isBlank()) {
            return Optional.empty();
        }
        return Optional.of(DatabaseUrl.parse(databaseUrl, databaseUser, password(), schema()));
    }

    /**
     * The configured database, or else the embedded database that a runner started from the same
     * data directory is serving; fails with what to do when there is neither.
     */
    public DatabaseSettings configuredOrRunningEmbedded() {
        return configured().orElseGet(() -> EmbeddedDatabase.findRunning(dataDir())
                .map(embedded -> embedded.withSchema(schema()))
                .orElseThrow(() -> new ConfigException("no database configured and no embedded database running in "
                        + dataDir().toAbsolutePath().normalize() + "; start 'backtick run' in this directory first, "
                        + "or set BACKTICK_DATABASE_URL (or --database-url)")));
    }

    public String schema() {
        try {
            return QueueSchema.require(schema);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--schema: " + e.getMessage());
        }
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The name of the environment variable behind an option, for messages. */
    static String envOf(String option) {
        return ConfigDefaults.envName(option.replaceFirst("^--", ""));
    }
}
