package io.backtick.runner.embedded;

import io.backtick.api.QueueSchema;
import io.backtick.runner.config.ConfigException;
import io.backtick.runner.config.DatabaseSettings;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL a runner starts for itself when no database is configured, so a first job runs
 * with nothing installed but a JDK. Its data lives in {@code DATA_DIR/postgres} and survives
 * restarts. The runner that starts it writes {@code DATA_DIR/embedded.properties} with the port, so
 * {@code backtick enqueue} and other runners started from the same directory find it.
 */
public final class EmbeddedDatabase implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);
    static final String MARKER = "embedded.properties";
    private static final String USER = "postgres";
    private static final String DATABASE = "postgres";

    private final EmbeddedPostgres postgres;
    private final Path dataDir;
    private final int port;

    private EmbeddedDatabase(EmbeddedPostgres postgres, Path dataDir, int port) {
        this.postgres = postgres;
        this.dataDir = dataDir;
        this.port = port;
    }

    /**
     * Starts the embedded server on the data in {@code dataDir}, creating it on first use.
     *
     * @throws EmbeddedDatabaseException when it cannot start here, saying why and what to do instead
     */
    public static EmbeddedDatabase start(Path dataDir) {
        Path dir = dataDir.toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new ConfigException("cannot create the data directory " + dir + ": " + e.getMessage());
        }
        int port = freePort();
        EmbeddedPostgres postgres;
        try {
            postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(dir.resolve("postgres"))
                    .setCleanDataDirectory(false)
                    .setPort(port)
                    .setPGStartupWait(Duration.ofSeconds(60))
                    // zonky turns durability off by default; a queue must not lose committed jobs.
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("max_connections", "200")
                    .setServerConfig("listen_addresses", "127.0.0.1")
                    .start();
        } catch (IOException | RuntimeException e) {
            throw new EmbeddedDatabaseException("cannot start the embedded PostgreSQL in " + dir + " ("
                    + reason(e) + "); point the runner at a PostgreSQL server with BACKTICK_DATABASE_URL or --database-url", e);
        }
        EmbeddedDatabase embedded = new EmbeddedDatabase(postgres, dir, port);
        embedded.writeMarker();
        return embedded;
    }

    /**
     * The embedded database of {@code dataDir}: the one a runner started from there serves, or a
     * new one this call starts (then {@code started} receives it, to be closed by the caller).
     * Runners started from one directory at the same moment take turns on a file lock, so only
     * the first starts the server and the others use it.
     */
    public static DatabaseSettings findOrStart(Path dataDir, java.util.function.Consumer<EmbeddedDatabase> started) {
        Path dir = dataDir.toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new ConfigException("cannot create the data directory " + dir + ": " + e.getMessage());
        }
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(dir.resolve("start.lock"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             java.nio.channels.FileLock lock = channel.lock()) {
            Optional<DatabaseSettings> running = findRunning(dir);
            if (running.isPresent()) {
                log.info("Using the embedded PostgreSQL that another runner started in {}", dir);
                return running.get();
            }
            EmbeddedDatabase embedded = start(dir);
            started.accept(embedded);
            return embedded.settings(QueueSchema.DEFAULT);
        } catch (IOException e) {
            throw new EmbeddedDatabaseException("cannot lock the data directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The embedded database a runner started from {@code dataDir} serves, if one answers now. */
    public static Optional<DatabaseSettings> findRunning(Path dataDir) {
        Path marker = dataDir.toAbsolutePath().normalize().resolve(MARKER);
        if (!Files.isRegularFile(marker)) {
            return Optional.empty();
        }
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(marker)) {
            properties.load(reader);
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
        int port;
        try {
            port = Integer.parseInt(properties.getProperty("port", ""));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        DatabaseSettings settings = settings(port);
        return answers(settings) ? Optional.of(settings) : Optional.empty();
    }

    private static DatabaseSettings settings(int port) {
        return new DatabaseSettings("jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE, USER, null,
                QueueSchema.DEFAULT);
    }

    private static boolean answers(DatabaseSettings settings) {
        String hostPort = settings.jdbcUrl().substring("jdbc:postgresql://".length(), settings.jdbcUrl().lastIndexOf('/'));
        int port = Integer.parseInt(hostPort.substring(hostPort.indexOf(':') + 1));
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
        } catch (IOException e) {
            return false;
        }
        Properties props = new Properties();
        props.setProperty("user", USER);
        props.setProperty("connectTimeout", "2");
        try (Connection c = DriverManager.getConnection(settings.jdbcUrl(), props)) {
            return c.isValid(2);
        } catch (SQLException e) {
            return false;
        }
    }

    /** The connection settings for the queue in {@code schema} of this server. */
    public DatabaseSettings settings(String schema) {
        return settings(port).withSchema(schema);
    }

    public Path dataDir() {
        return dataDir;
    }

    private void writeMarker() {
        Properties properties = new Properties();
        properties.setProperty("port", Integer.toString(port));
        properties.setProperty("pid", Long.toString(ProcessHandle.current().pid()));
        Path marker = dataDir.resolve(MARKER);
        Path temp = dataDir.resolve(MARKER + ".tmp");
        try (Writer writer = Files.newBufferedWriter(temp)) {
            properties.store(writer, "Written by the backtick runner that started the embedded PostgreSQL");
        } catch (IOException e) {
            log.warn("Cannot write {}: 'backtick enqueue' will not find this database ({})", marker, e.getMessage());
            return;
        }
        try {
            Files.move(temp, marker, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            log.warn("Cannot write {}: 'backtick enqueue' will not find this database ({})", marker, e.getMessage());
        }
    }

    @Override
    public void close() {
        try {
            Files.deleteIfExists(dataDir.resolve(MARKER));
        } catch (IOException e) {
            log.debug("Cannot remove {}", dataDir.resolve(MARKER), e);
        }
        try {
            postgres.close();
        } catch (IOException e) {
            log.warn("The embedded PostgreSQL did not stop cleanly: {}", e.getMessage());
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new EmbeddedDatabaseException("cannot find a free port for the embedded PostgreSQL: " + e.getMessage(), e);
        }
    }

    private static String reason(Throwable e) {
        String message = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null) {
                message = t.getMessage();
            }
            if (t.getCause() == t) {
                break;
            }
        }
        if (message == null) {
            return e.getClass().getSimpleName();
        }
        message = message.strip();
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
