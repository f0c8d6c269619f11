package io.backtick.runner.testsupport;

import io.backtick.runner.config.DatabaseSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A PostgreSQL cluster of the test's own, made with the machine's {@code initdb} and run with its
 * {@code pg_ctl}, for scenarios that restart the server or disturb every connection to it, which
 * the shared test server must never see. In a temporary directory, on a free port, trust
 * authentication, fsync off. PostgreSQL refuses to run as root, so when the test runs as root the
 * commands run as the {@code postgres} OS user through {@code su postgres -c}.
 * {@link #close()} stops it at once and deletes the directory.
 */
public final class ThrowawayPostgres implements AutoCloseable {

    /** Where the binaries are: {@code BACKTICK_PG_BIN}, else Debian's PostgreSQL 15. */
    public static final Path BIN = Path.of(System.getenv().getOrDefault("BACKTICK_PG_BIN", "/usr/lib/postgresql/15/bin"));

    private final Path dir;
    private final Path data;
    private final int port;

    private ThrowawayPostgres(Path dir, int port) {
        this.dir = dir;
        this.data = dir.resolve("data");
        this.port = port;
    }

    /** Whether this machine has the binaries (tests that need a cluster are skipped without them). */
    public static boolean available() {
        return Files.isExecutable(BIN.resolve("initdb")) && Files.isExecutable(BIN.resolve("pg_ctl"));
    }

    /** Creates and starts a cluster with {@code settings} ({@code name=value}, passed as {@code -c}). */
    public static ThrowawayPostgres start(String... settings) {
        try {
            Path dir = Files.createTempDirectory("backtick-throwaway-pg");
            ThrowawayPostgres pg = new ThrowawayPostgres(dir, freePort());
            if (isRoot()) {
                run(Duration.ofSeconds(10), "chown", "-R", "postgres", dir.toString());
            }
            pg.pgRun(Duration.ofSeconds(120), BIN.resolve("initdb") + " -D " + pg.data + " -A trust -U postgres --no-sync -E UTF8 --locale=C");
            StringBuilder options = new StringBuilder("-p " + pg.port + " -k " + dir + " -c listen_addresses=127.0.0.1"
                    + " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
            for (String setting : settings) {
                options.append(" -c ").append(setting);
            }
            pg.pgRun(Duration.ofSeconds(60), BIN.resolve("pg_ctl") + " -D " + pg.data + " -l " + dir.resolve("log")
                    + " -w -t 60 -o '" + options + "' start");
            return pg;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return port;
    }

    /** The JDBC URL of the database {@code postgres}, user {@code postgres}. */
    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
    }

    /** Connection settings for a queue in {@code schema}. */
    public DatabaseSettings settings(String schema) {
        return new DatabaseSettings("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", null, schema);
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl());
    }

    /** Restarts the server ({@code pg_ctl restart -m fast}: every connection is closed), waiting until it accepts connections again. */
    public void restart() {
        pgRun(Duration.ofSeconds(120), BIN.resolve("pg_ctl") + " -D " + data + " -m fast -w -t 60 restart");
    }

    /** Stops the server at once and deletes its directory. */
    @Override
    public void close() {
        try {
            pgRun(Duration.ofSeconds(60), BIN.resolve("pg_ctl") + " -D " + data + " -m immediate -w stop");
        } catch (RuntimeException e) {
            System.err.println("could not stop the throwaway PostgreSQL in " + dir + ": " + e.getMessage());
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temp directory; the OS cleans up eventually
        }
    }

    /** The server's log so far, for a failing test's report. */
    public String log() {
        try {
            return Files.readString(dir.resolve("log"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private void pgRun(Duration timeout, String command) {
        if (isRoot()) {
            run(timeout, "su", "postgres", "-c", command);
        } else {
            run(timeout, "sh", "-c", command);
        }
    }

    private static void run(Duration timeout, String... command) {
        try {
            Path out = Files.createTempFile("throwaway-pg-", ".out");
            try {
                Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).redirectOutput(out.toFile()).start();
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    throw new IllegalStateException(String.join(" ", command) + " did not finish within " + timeout
                            + ":\n" + Files.readString(out));
                }
                if (p.exitValue() != 0) {
                    throw new IllegalStateException(String.join(" ", command) + " exited with " + p.exitValue() + ":\n"
                            + Files.readString(out));
                }
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + String.join(" ", command), e);
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
