package io.backtick.runner.testsupport;

import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.config.DatabaseUrl;
import io.backtick.runner.queue.QueueDatabase;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The PostgreSQL the tests run against, one per test JVM: the one named by
 * {@code BACKTICK_TEST_JDBC_URL} when set (CI sets it), else a Testcontainers container where
 * Docker is available, else an embedded PostgreSQL. Each test class takes a schema of its own
 * with {@link #newQueue}, so classes never see each other's jobs.
 */
public final class TestDatabase {

    public static final String URL_ENV = "BACKTICK_TEST_JDBC_URL";

    private static DatabaseSettings server;

    private TestDatabase() {
    }

    /** The server's connection settings (schema {@code backtick}; use {@code withSchema}). */
    public static synchronized DatabaseSettings server() {
        if (server == null) {
            server = start();
        }
        return server;
    }

    private static DatabaseSettings start() {
        String url = System.getenv(URL_ENV);
        if (url != null && !url.isBlank()) {
            return DatabaseUrl.parse(url, null, null, "backtick");
        }
        if (DockerClientFactory.instance().isDockerAvailable()) {
            PostgreSQLContainer container = new PostgreSQLContainer("postgres:16-alpine");
            container.start();
            Runtime.getRuntime().addShutdownHook(new Thread(container::stop));
            return DatabaseUrl.parse(container.getJdbcUrl(), container.getUsername(), container.getPassword(), "backtick");
        }
        try {
            Path dir = Files.createTempDirectory("backtick-test-pg");
            EmbeddedPostgres postgres = EmbeddedPostgres.builder().setDataDirectory(dir).setCleanDataDirectory(true)
                    .setServerConfig("max_connections", "300").start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    postgres.close();
                } catch (IOException e) {
                    // the JVM is exiting
                }
            }));
            return new DatabaseSettings("jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres", "postgres",
                    null, "backtick");
        } catch (IOException e) {
            throw new IllegalStateException("no test database: set " + URL_ENV + ", or run where Docker or the "
                    + "embedded PostgreSQL works", e);
        }
    }

    /** A fresh schema name for {@code owner}, unique in this run. */
    public static String newSchema(Class<?> owner) {
        return schemaPrefix(owner) + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
    }

    private static String schemaPrefix(Class<?> owner) {
        String base = owner.getSimpleName().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
        if (base.length() > 40) {
            base = base.substring(0, 40);
        }
        return "t_" + base + "_";
    }

    /** Drops every schema {@link #newSchema} made for {@code owner}, for classes that make one per test. */
    public static void dropSchemasOf(Class<?> owner) {
        execute("do $$ declare s text; begin for s in select nspname from pg_namespace where starts_with(nspname, '"
                + schemaPrefix(owner) + "') loop execute format('drop schema %I cascade', s); end loop; end $$");
    }

    /** Settings for a fresh, migrated queue schema of its own. */
    public static DatabaseSettings newQueueSettings(Class<?> owner) {
        DatabaseSettings settings = server().withSchema(newSchema(owner));
        try (QueueDatabase db = QueueDatabase.open(settings, 1, "backtick-test-migrate")) {
            db.migrate();
        }
        return settings;
    }

    /** A migrated queue in a fresh schema of its own, with a pool of {@code poolSize} connections. */
    public static QueueDatabase newQueue(Class<?> owner, int poolSize) {
        return QueueDatabase.open(newQueueSettings(owner), poolSize, "backtick-test");
    }

    /** Drops a schema and all in it. */
    public static void dropSchema(String schema) {
        execute("drop schema if exists \"" + schema + "\" cascade");
    }

    /** A plain connection to the test server, with no schema set. */
    public static Connection connect() throws SQLException {
        DatabaseSettings s = server();
        return DriverManager.getConnection(s.jdbcUrl(), s.user(), s.password());
    }

    /** The payloads of the next {@code count} notifications on {@code listener}, waiting up to 10 s for them. */
    public static java.util.List<String> notifications(Connection listener, int count) throws SQLException {
        java.util.List<String> payloads = new java.util.ArrayList<>();
        org.postgresql.PGConnection pg = listener.unwrap(org.postgresql.PGConnection.class);
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> {
            org.postgresql.PGNotification[] got = pg.getNotifications(100);
            if (got != null) {
                for (org.postgresql.PGNotification n : got) {
                    payloads.add(n.getParameter());
                }
            }
            return payloads.size() >= count;
        });
        return payloads;
    }

    public static void execute(String sql) {
        try (Connection c = connect(); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }
}
