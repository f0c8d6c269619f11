package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobRequest;
import io.backtick.api.JobState;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A committed job wakes an idle runner at once, long before its next poll. */
class NotifierTest {

    @AfterAll
    static void dropSchemas() {
        TestDatabase.dropSchemasOf(NotifierTest.class);
    }

    @Test
    void theNotificationSaysWhereInClaimOrderTheInsertedJobsStart() throws Exception {
        try (QueueDatabase db = TestDatabase.newQueue(NotifierTest.class, 2);
             java.sql.Connection listener = TestDatabase.connect();
             java.sql.Statement listen = listener.createStatement()) {
            listen.execute("listen \"" + Notifier.channel(db.settings().schema()) + "\"");
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            java.time.Instant past = java.time.Instant.parse("2026-01-02T03:04:05.678901Z");
            client.enqueueAll(java.util.List.of(
                    JobRequest.of("ping").withPriority(3),
                    JobRequest.of("ping").withPriority(7).at(past.plusSeconds(60)),
                    JobRequest.of("ping").withPriority(1).at(past),
                    JobRequest.of("ping").withPriority(9).in(Duration.ofHours(1)))); // scheduled, not available
            client.enqueue(JobRequest.of("ping").in(Duration.ofHours(1)));

            List<String> payloads = TestDatabase.notifications(listener, 2);
            // The highest priority among the available jobs, the earliest run_at among them: no
            // available job of the insert comes before that point in claim order.
            Notifier.Announced first = Notifier.announced(payloads.get(0));
            assertThat(first.fromHead()).isFalse();
            assertThat(first.start().priority()).isEqualTo(7);
            assertThat(first.start().runAt().toInstant()).isEqualTo(past);
            assertThat(first.start().id()).isZero();
            // It scheduled a job for later too: when that one falls due, by the database's clock.
            java.time.OffsetDateTime firstScheduled = db.dsl().fetchOne(
                    "select min(run_at) from jobs where state = 'scheduled' and priority = 9").get(0, java.time.OffsetDateTime.class);
            assertThat(first.scheduledFor()).isEqualTo(firstScheduled.toInstant());
            // An insert of scheduled jobs only: nothing to claim yet, a job to stage in an hour.
            Notifier.Announced second = Notifier.announced(payloads.get(1));
            assertThat(second.start()).isNull();
            assertThat(second.fromHead()).isFalse();
            assertThat(second.scheduledFor()).isEqualTo(db.dsl().fetchOne(
                    "select run_at from jobs where state = 'scheduled' and priority <> 9").get(0, java.time.OffsetDateTime.class)
                    .toInstant());
            assertThat(payloads.get(1)).startsWith("s ");
            assertThat(Notifier.announced("none")).isEqualTo(new Notifier.Announced(null, false));
        }
    }

    @Test
    void aNotificationWithoutAStartingPointWakesAClaimFromTheHead() {
        // The payload of a queue migrated before V7 is empty; anything unreadable counts the same.
        assertThat(Notifier.announced("").fromHead()).isTrue();
        assertThat(Notifier.announced(null).fromHead()).isTrue();
        assertThat(Notifier.announced("k x 12").fromHead()).isTrue();
        assertThat(Notifier.announced("k 1 2 3").fromHead()).isTrue();
        assertThat(Notifier.announced("k 1 2 t 3").fromHead()).isTrue();
        assertThat(Notifier.announced("s x").fromHead()).isTrue();
        assertThat(Notifier.announced("s 1 2").fromHead()).isTrue();
    }

    @Test
    void anEnqueuedJobWakesAnIdleRunnerBeforeItsNextPoll() {
        AtomicInteger ran = new AtomicInteger();
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("ping", Void.class, (args, job) -> ran.incrementAndGet());
        try (QueueDatabase db = TestDatabase.newQueue(NotifierTest.class, 4)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            // Polling once an hour: only a notification can get these jobs run within the test.
            Runner runner = new Runner(RunnerSettings.defaults("notify-test").withThreads(2)
                    .withPollInterval(Duration.ofHours(1)), db, workers);
            runner.start();
            try {
                // The listener may not be up the instant start() returns: enqueue until one job runs.
                await().atMost(Duration.ofSeconds(20)).until(() -> {
                    client.schedule("ping");
                    return ran.get() > 0;
                });
                long sentBefore = db.jobs().countByState().values().stream().mapToLong(Long::longValue).sum();
                await().atMost(Duration.ofSeconds(20)).until(() ->
                        db.jobs().countByState().getOrDefault(JobState.COMPLETED, 0L) == sentBefore);
                int ranBefore = ran.get();

                // Now listening for sure: a single job must be woken for and run within seconds.
                client.schedule("ping");
                await().atMost(Duration.ofSeconds(10)).until(() ->
                        db.jobs().countByState().getOrDefault(JobState.COMPLETED, 0L) == sentBefore + 1);
                assertThat(ran.get()).isEqualTo(ranBefore + 1);
            } finally {
                runner.stop();
                TestDatabase.dropSchema(db.settings().schema());
            }
        }
    }
}
