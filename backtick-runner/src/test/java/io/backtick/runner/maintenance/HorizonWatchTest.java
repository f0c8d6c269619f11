package io.backtick.runner.maintenance;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.maintenance.HorizonWatch.HeldBack;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.QueueSchema;
import io.backtick.runner.testsupport.SettableClock;
import io.backtick.runner.testsupport.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The watch for transactions that keep PostgreSQL from cleaning up after claims, against real
 * sessions holding real transactions; time is moved by hand. Other test classes share the
 * database, so each assertion looks only at the sessions this test opened.
 */
class HorizonWatchTest {

    @RegisterExtension
    static final QueueSchema schema = new QueueSchema(2);

    static QueueDatabase db;
    private final SettableClock clock = new SettableClock();
    private HorizonWatch watch;
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(HorizonWatch.class);

    @BeforeAll
    static void open() {
        db = schema.db();
    }

    @BeforeEach
    void watch() {
        watch = new HorizonWatch(db.maintenance(), clock, Duration.ofMinutes(1));
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach
    void stopLogging() {
        logger.detachAppender(logged);
    }

    @Test
    void aTransactionLeftOpenIsReportedOnceWhenItHasHeldForAMinuteAndAgainWhenItEnds() throws Exception {
        try (Connection session = TestDatabase.connect()) {
            session.setAutoCommit(false);
            // Its snapshot can need a transaction as old as the oldest one running anywhere on the server.
            long oldestRunning = single(session, "select txid_snapshot_xmin(txid_current_snapshot()) % 4294967296");
            long xid = single(session, "select txid_current() % 4294967296"); // the 32-bit id the server shows; a write would assign one too
            int pid = (int) single(session, "select pg_backend_pid()");

            assertThat(heldBy(watch.check(), pid)).isEmpty();
            clock.tick(Duration.ofSeconds(59));
            assertThat(heldBy(watch.check(), pid)).isEmpty();
            assertThat(watch.longestHeld()).isGreaterThanOrEqualTo(Duration.ofSeconds(59));
            clock.tick(Duration.ofSeconds(1));

            List<HeldBack> held = heldBy(watch.check(), pid);
            assertThat(held).singleElement().satisfies(h -> {
                // Its own id, or an older one its last snapshot still needed where other writers ran alongside
                // (in any database of the server: a snapshot's oldest transaction is the server's).
                assertThat(h.holder().xid()).isBetween(Math.min(xid - 10_000, oldestRunning), xid);
                assertThat(h.heldFor()).isEqualTo(Duration.ofMinutes(1));
                assertThat(h.holder().description()).startsWith("session " + pid + " (user ");
            });
            long heldXid = held.get(0).holder().xid();
            assertThat(warningsAbout(pid)).singleElement().asString()
                    .contains("PostgreSQL cannot clean up after claims while session " + pid)
                    .contains("keeps rows as old as transaction " + heldXid + " (60 s so far)");

            clock.tick(Duration.ofSeconds(15));
            assertThat(heldBy(watch.check(), pid)).hasSize(1);
            assertThat(warningsAbout(pid)).as("told once").hasSize(1);

            session.commit();
            clock.tick(Duration.ofSeconds(15));
            assertThat(heldBy(watch.check(), pid)).isEmpty();
            assertThat(messages()).filteredOn(m -> m.startsWith("PostgreSQL can clean up after claims again: session " + pid + " "))
                    .singleElement().asString().endsWith("no longer keeps rows as old as transaction " + heldXid + " (kept for at least 90 s)");
        }
    }

    @Test
    void aSnapshotKeptWithoutATransactionIdHoldsBackCleanupToo() throws Exception {
        try (Connection session = TestDatabase.connect()) {
            session.setAutoCommit(false);
            session.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            single(session, "select 1"); // takes the transaction's snapshot, writes nothing
            int pid = (int) single(session, "select pg_backend_pid()");

            watch.check();
            clock.tick(Duration.ofMinutes(2));
            assertThat(heldBy(watch.check(), pid)).singleElement()
                    .satisfies(h -> assertThat(h.heldFor()).isEqualTo(Duration.ofMinutes(2)));
            session.rollback();
        }
    }

    @Test
    void transactionsThatEndBetweenChecksAreNeverReported() throws Exception {
        try (Connection older = TestDatabase.connect(); Connection session = TestDatabase.connect()) {
            // Another transaction stays open throughout: each of the session's snapshots needs it,
            // so the session holds back the same older id every time, in a new transaction each time.
            older.setAutoCommit(false);
            single(older, "select txid_current()");
            session.setAutoCommit(false);
            session.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            int pid = (int) single(session, "select pg_backend_pid()");
            session.commit();
            for (int check = 0; check < 6; check++) {
                single(session, "select txid_current()"); // a new transaction each time, open while the watch looks
                assertThat(heldBy(watch.check(), pid)).isEmpty();
                session.commit();
                clock.tick(Duration.ofSeconds(30));
            }
            assertThat(warningsAbout(pid)).isEmpty();
        }
    }

    @Test
    void aRoleWithoutMonitoringRightsSeesAnotherRolesTransactionToo() throws Exception {
        String role = db.settings().schema() + "_watcher";
        String password = "watch-" + Long.toHexString(System.nanoTime());
        TestDatabase.execute("create role " + role + " login password '" + password + "'");
        QueueDatabase asRole = QueueDatabase.open(new DatabaseSettings(TestDatabase.server().jdbcUrl(), role, password,
                db.settings().schema()), 1, "horizon-watch-as-role");
        try (Connection session = TestDatabase.connect()) {
            session.setAutoCommit(false);
            long oldestRunning = single(session, "select txid_snapshot_xmin(txid_current_snapshot()) % 4294967296");
            long xid = single(session, "select txid_current() % 4294967296");
            int pid = (int) single(session, "select pg_backend_pid()");
            HorizonWatch watchAsRole = new HorizonWatch(asRole.maintenance(), clock, Duration.ofMinutes(1));

            watchAsRole.check();
            clock.tick(Duration.ofMinutes(1));
            assertThat(heldBy(watchAsRole.check(), pid)).singleElement().satisfies(h -> {
                // Its own id, or an older one its last snapshot still needed where other writers ran alongside
                // (in any database of the server: a snapshot's oldest transaction is the server's).
                assertThat(h.holder().xid()).isBetween(Math.min(xid - 10_000, oldestRunning), xid);
                assertThat(h.holder().description()).startsWith("session " + pid + " (user ").doesNotContain("idle");
            });
            session.rollback();
        } finally {
            asRole.close();
            TestDatabase.execute("drop role " + role);
        }
    }

    private static List<HeldBack> heldBy(List<HeldBack> held, int pid) {
        return held.stream().filter(h -> h.holder().key().equals("session " + pid)).toList();
    }

    private List<String> messages() {
        return logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    private List<String> warningsAbout(int pid) {
        return logged.list.stream()
                .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                .map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.contains("session " + pid + " "))
                .toList();
    }

    private static long single(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet r = st.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }
}
