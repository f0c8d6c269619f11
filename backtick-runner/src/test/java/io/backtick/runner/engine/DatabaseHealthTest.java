package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.backtick.runner.testsupport.SettableClock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** One "lost" line and one "back" line per outage, whatever the loops report in between; time driven by hand. */
class DatabaseHealthTest {

    private static final RuntimeException DOWN = new RuntimeException("Connection refused");

    private final SettableClock clock = new SettableClock();
    private final DatabaseHealth health = new DatabaseHealth(clock);
    private final Logger logger = (Logger) LoggerFactory.getLogger(DatabaseHealth.class);
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

    @BeforeEach
    void capture() {
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach
    void release() {
        logger.detachAppender(logged);
    }

    private List<String> lines() {
        return logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void aHealthyDatabaseLogsNothing() {
        for (int i = 0; i < 10; i++) {
            health.ok();
            clock.tick(Duration.ofMillis(300));
        }
        assertThat(health.isLost()).isFalse();
        assertThat(lines()).isEmpty();
    }

    @Test
    void manyFailuresOfManyLoopsAreOneLostLine() {
        for (int i = 0; i < 20; i++) {
            health.lost(i % 2 == 0 ? "producer" : "heartbeat", DOWN);
            clock.tick(Duration.ofMillis(100));
        }
        assertThat(health.isLost()).isTrue();
        assertThat(lines()).singleElement().asString().startsWith("Lost the database (producer: ");
    }

    @Test
    void theDatabaseIsBackOnlyAfterASecondOfSuccessWithoutAFailure() {
        health.lost("producer", DOWN);
        clock.tick(Duration.ofSeconds(5));

        // While it restarts, loops that get through alternate with loops that do not: no line, still lost.
        for (int i = 0; i < 10; i++) {
            health.ok();
            clock.tick(Duration.ofMillis(400));
            health.lost("completer", DOWN);
            clock.tick(Duration.ofMillis(400));
        }
        assertThat(health.isLost()).isTrue();
        assertThat(lines()).hasSize(1);

        health.ok();
        clock.tick(Duration.ofMillis(999));
        health.ok();
        assertThat(health.isLost()).as("999 ms of success").isTrue();

        clock.tick(Duration.ofMillis(1));
        health.ok();
        assertThat(health.isLost()).isFalse();
        assertThat(lines()).hasSize(2);
        assertThat(lines().get(1)).isEqualTo("Database is back after 13000 ms");

        health.ok();
        clock.tick(Duration.ofSeconds(5));
        health.ok();
        assertThat(lines()).hasSize(2);
    }

    @Test
    void eachOutageHasItsOwnPairOfLines() {
        for (int outage = 0; outage < 3; outage++) {
            health.lost("producer", DOWN);
            health.lost("heartbeat", DOWN);
            clock.tick(Duration.ofSeconds(2));
            health.ok();
            clock.tick(Duration.ofSeconds(1));
            health.ok();
            health.ok();
        }
        assertThat(lines()).hasSize(6);
        assertThat(lines()).filteredOn(l -> l.startsWith("Lost the database")).hasSize(3);
        assertThat(lines()).filteredOn(l -> l.startsWith("Database is back")).hasSize(3);
    }

    @Test
    void steadinessCountsFromStartAndFromTheEndOfTheLastOutage() {
        assertThat(health.steadyFor(Duration.ofSeconds(30))).isFalse();
        clock.tick(Duration.ofSeconds(30));
        assertThat(health.steadyFor(Duration.ofSeconds(30))).isTrue();

        health.lost("heartbeat", DOWN);
        assertThat(health.steadyFor(Duration.ofSeconds(30))).isFalse();
        health.ok();
        clock.tick(Duration.ofSeconds(1));
        health.ok();
        assertThat(health.steadyFor(Duration.ofSeconds(30))).isFalse();
        clock.tick(Duration.ofSeconds(29));
        assertThat(health.steadyFor(Duration.ofSeconds(30))).isFalse();
        clock.tick(Duration.ofSeconds(1));
        assertThat(health.steadyFor(Duration.ofSeconds(30))).isTrue();
    }
}
