package io.backtick.runner.engine;

import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.lifecycle.Loop;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens for the notification the jobs table's insert trigger sends, on a connection of its own
 * (outside the pool: a listening connection must stay open and idle), and wakes the producer.
 * Any number of notifications arriving together wake it once. If the connection drops, it
 * reconnects with backoff; meanwhile the producer's polling carries on.
 */
public final class Notifier extends Loop {

    private static final Logger log = LoggerFactory.getLogger(Notifier.class);
    private static final int WAIT_MILLIS = 500;

    private final DatabaseSettings database;
    private final Runnable onNotification;
    private Connection connection;
    private String arrivalToken;
    private volatile boolean listening;
    private long reconnectPause;

    public Notifier(DatabaseSettings database, Runnable onNotification) {
        super("backtick-notifier", Duration.ofSeconds(5));
        this.database = database;
        this.onNotification = onNotification;
    }

    /** The channel the trigger of V4__notify_on_insert.sql notifies for a schema. */
    public static String channel(String schema) {
        return "backtick_" + (schema.length() > 50 ? schema.substring(0, 50) : schema);
    }

    @Override
    protected void step() throws InterruptedException {
        try {
            if (connection == null) {
                connection = listen();
                reconnectPause = 0;
            }
            PGNotification[] notifications = connection.unwrap(PGConnection.class).getNotifications(WAIT_MILLIS);
            if (notifications != null && notifications.length > 0) {
                onNotification.run(); // usually a second time: the arrival of its bytes woke the producer already
            }
        } catch (SQLException e) {
            close();
            reconnectPause = Math.min(Math.max(reconnectPause * 2, 200), 5_000);
            log.debug("Listening for new jobs failed ({}); polling until it reconnects", e.getMessage());
            Thread.sleep(reconnectPause);
        }
    }

    private Connection listen() throws SQLException {
        // Wake the producer the moment a notification's bytes arrive, not when the driver returns
        // it (see ArrivalSocketFactory). Until LISTEN has run, nothing is woken.
        listening = false;
        if (arrivalToken == null) {
            arrivalToken = ArrivalSocketFactory.register(() -> {
                if (listening) {
                    onNotification.run();
                }
            });
        }
        Properties driver = new Properties();
        driver.setProperty("socketFactory", ArrivalSocketFactory.class.getName());
        driver.setProperty("socketFactoryArg", arrivalToken);
        Connection c = database.connect("backtick-notifier", driver);
        try (Statement listen = c.createStatement()) {
            listen.execute("listen \"" + channel(database.schema()) + "\"");
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        listening = true;
        // Jobs may have arrived while we were not listening.
        onNotification.run();
        return c;
    }

    private void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                // already broken
            }
            connection = null;
        }
    }

    @Override
    protected void finish() {
        close();
        if (arrivalToken != null) {
            ArrivalSocketFactory.unregister(arrivalToken);
        }
    }

    @Override
    protected void wake() {
        // step() waits at most WAIT_MILLIS.
    }
}
