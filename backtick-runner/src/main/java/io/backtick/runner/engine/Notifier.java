package io.backtick.runner.engine;

import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.lifecycle.Loop;
import io.backtick.runner.queue.JobQueue;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Properties;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens for the notifications of new and newly available jobs (the jobs table's insert trigger,
 * and the statements that stage, rescue or hand back jobs), on a connection of its own
 * (outside the pool: a listening connection must stay open and idle), and wakes the producer.
 * Any number of notifications arriving together wake it once. If the connection drops, it
 * reconnects with backoff; meanwhile the producer's polling carries on.
 *
 * <p>The producer is woken twice for a notification: the moment its bytes arrive, to claim from
 * where its last claim ended, and once the driver hands it over, with the point in claim order
 * where the inserted jobs start ({@code V7__notify_where_new_jobs_start.sql}), so that jobs
 * before that point (an enqueue that committed late) are claimed too. A notification without
 * that point (a queue migrated before V7) and a new connection, after which jobs may have
 * arrived unannounced, wake it to claim from the head.
 *
 * <p>An insert of jobs scheduled for later says when the first of them is due
 * ({@code V10__notify_when_scheduled_jobs_fall_due.sql}), and the stager is asked for a round
 * then: its own reading of the next due job came before the insert.
 */
public final class Notifier extends Loop {

    private static final Logger log = LoggerFactory.getLogger(Notifier.class);
    private static final int WAIT_MILLIS = 500;

    private final DatabaseSettings database;
    private final ClaimWake producer;
    private final Consumer<Instant> scheduledFor;
    private Connection connection;
    private String arrivalToken;
    private volatile boolean listening;
    private long reconnectPause;

    public Notifier(DatabaseSettings database, ClaimWake producer) {
        this(database, producer, runAt -> { });
    }

    /** With {@code scheduledFor} told when the first of the scheduled jobs an insert announces falls due. */
    public Notifier(DatabaseSettings database, ClaimWake producer, Consumer<Instant> scheduledFor) {
        super("backtick-notifier", Duration.ofSeconds(5));
        this.database = database;
        this.producer = producer;
        this.scheduledFor = scheduledFor;
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
                // Usually a second time: the arrival of the bytes woke the producer already. Its
                // wake-ups coalesce, and it keeps the earliest point it was told of.
                for (PGNotification n : notifications) {
                    Announced a = announced(n.getParameter());
                    if (a.scheduledFor() != null) {
                        scheduledFor.accept(a.scheduledFor());
                    }
                    if (a.fromHead()) {
                        producer.wakeFromHead();
                    } else if (a.start() != null) {
                        producer.wakeFrom(a.start());
                    } else {
                        producer.wake();
                    }
                }
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
                    producer.wake();
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
        // Jobs may have arrived while we were not listening, anywhere in claim order.
        producer.wakeFromHead();
        return c;
    }

    /**
     * What a notification's payload says: where the inserted jobs start in claim order, that none
     * of them is available yet ({@code start} null, not from the head), or nothing this runner
     * understands (from the head); and when the first of the scheduled jobs it inserted falls
     * due, by the database's clock (null if it inserted none).
     */
    record Announced(JobQueue.ClaimPosition start, boolean fromHead, Instant scheduledFor) {
        Announced(JobQueue.ClaimPosition start, boolean fromHead) {
            this(start, fromHead, null);
        }
    }

    /**
     * Reads the payload of {@code V7__notify_where_new_jobs_start.sql} and
     * {@code V10__notify_when_scheduled_jobs_fall_due.sql}: 'k priority micros' where the available
     * jobs start, 's micros' when the first scheduled one falls due, both one after the other, or
     * 'none'.
     */
    static Announced announced(String payload) {
        if ("none".equals(payload)) {
            return new Announced(null, false);
        }
        String[] parts = payload == null ? new String[0] : payload.split(" ");
        try {
            if (parts.length == 2 && parts[0].equals("s")) {
                return new Announced(null, false, instant(parts[1]));
            }
            if ((parts.length == 3 || parts.length == 5 && parts[3].equals("s")) && parts[0].equals("k")) {
                int priority = Integer.parseInt(parts[1]);
                OffsetDateTime runAt = instant(parts[2]).atOffset(ZoneOffset.UTC);
                // Id 0 comes before every job's id: the claim takes the jobs at that run_at too.
                return new Announced(new JobQueue.ClaimPosition(priority, runAt, 0), false,
                        parts.length == 5 ? instant(parts[4]) : null);
            }
        } catch (NumberFormatException e) {
            return new Announced(null, true);
        }
        return new Announced(null, true);
    }

    private static Instant instant(String micros) {
        return Instant.EPOCH.plus(Long.parseLong(micros), ChronoUnit.MICROS);
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
