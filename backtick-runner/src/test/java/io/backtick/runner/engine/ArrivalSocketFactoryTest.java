package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.backtick.runner.testsupport.TestDatabase;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/** A listening connection made through the factory reports a notification as its bytes arrive. */
class ArrivalSocketFactoryTest {

    @Test
    void theArrivalOfANotificationIsReportedBeforeTheDriverHandsItOver() throws Exception {
        AtomicLong arrivedAt = new AtomicLong();
        AtomicLong armed = new AtomicLong();
        String token = ArrivalSocketFactory.register(() -> {
            if (armed.get() == 1) {
                arrivedAt.compareAndSet(0, System.nanoTime());
            }
        });
        Properties driver = new Properties();
        driver.setProperty("socketFactory", ArrivalSocketFactory.class.getName());
        driver.setProperty("socketFactoryArg", token);
        try (Connection listener = TestDatabase.server().connect("arrival-test", driver);
             Connection sender = TestDatabase.connect()) {
            try (Statement s = listener.createStatement()) {
                s.execute("listen arrival_test");
            }
            armed.set(1);
            try (Statement s = sender.createStatement()) {
                s.execute("notify arrival_test, 'hello'");
            }
            PGNotification[] received = listener.unwrap(PGConnection.class).getNotifications(10_000);
            long handedOver = System.nanoTime();

            assertThat(received).extracting(PGNotification::getParameter).containsExactly("hello");
            assertThat(arrivedAt.get()).isPositive().isLessThanOrEqualTo(handedOver);
        } finally {
            ArrivalSocketFactory.unregister(token);
        }
    }
}
