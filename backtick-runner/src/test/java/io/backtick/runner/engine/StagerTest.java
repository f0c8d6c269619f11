package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.backtick.api.JobState;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.QueueSchema;
import io.backtick.runner.testsupport.TestDatabase;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The stager reads the due index from its start every round while that read is quick, and from
 * where it last staged while it is slow (a transaction left open keeps an entry there for every
 * job staged since it began), with the read from the start once in 100 times its length.
 */
class StagerTest {

    @RegisterExtension
    static final QueueSchema schema = new QueueSchema(2);

    static QueueDatabase db;

    @BeforeAll
    static void open() {
        db = schema.db();
    }

    @BeforeEach
    void empty() {
        db.dsl().execute("delete from jobs");
    }

    /** A scheduled job that came due {@code ago} ago. */
    private static long dueSince(Duration ago) {
        return db.dsl().fetchOne("insert into jobs (worker, state, run_at) values ('w', 'scheduled', now() - ? * interval '1 millisecond') "
                + "returning id", ago.toMillis()).get(0, Long.class);
    }

    private static JobState state(long id) {
        return db.jobs().find(id).orElseThrow().state();
    }

    /** A stager whose clock moves by {@code step} at each reading of it and as {@code now} is moved. */
    private static Stager stager(AtomicLong now, Duration step) {
        return new Stager(db.jobs(), new DatabaseHealth(), Duration.ofHours(1), start -> { },
                () -> now.addAndGet(step.toNanos()));
    }

    /** {@link #stager} after its first round, which staged one job due a minute ago, reading from the start. */
    private static Stager stagerAfterAFirstRound(AtomicLong now, Duration step) {
        Stager stager = stager(now, step);
        long first = dueSince(Duration.ofMinutes(1));
        assertThat(stager.runOnce()).isEqualTo(1);
        assertThat(state(first)).isEqualTo(JobState.AVAILABLE);
        return stager;
    }

    @Test
    void whileTheReadFromTheStartIsQuickEveryRoundFindsJobsDueBehindWhatItStaged() {
        // The read from the start takes a microsecond; rounds come a second apart.
        AtomicLong now = new AtomicLong();
        Stager stager = stagerAfterAFirstRound(now, Duration.ofNanos(1_000));

        long behind = dueSince(Duration.ofMinutes(2)); // committed late, say, by a long transaction
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        assertThat(stager.runOnce()).isEqualTo(1);
        assertThat(state(behind)).isEqualTo(JobState.AVAILABLE);
    }

    @Test
    void whileTheReadFromTheStartIsSlowRoundsStageFromWhereTheLastEndedAndReadFromTheStartOnceInAHundredTimesItsLength() {
        // Each reading of this clock is a second after the last: the read from the start takes a second.
        AtomicLong now = new AtomicLong();
        Stager stager = stagerAfterAFirstRound(now, Duration.ofSeconds(1));

        long behind = dueSince(Duration.ofMinutes(2));
        long after = dueSince(Duration.ofSeconds(30));
        now.addAndGet(Duration.ofSeconds(90).toNanos());
        assertThat(stager.runOnce()).as("only the job due after the first").isEqualTo(1);
        assertThat(state(after)).isEqualTo(JobState.AVAILABLE);
        assertThat(state(behind)).isEqualTo(JobState.SCHEDULED);

        now.addAndGet(Duration.ofSeconds(10).toNanos()); // 100 s after the read from the start began
        assertThat(stager.runOnce()).isEqualTo(1);
        assertThat(state(behind)).isEqualTo(JobState.AVAILABLE);
    }

    @Test
    void aRoundTellsItsProducerWhereTheStagedJobsStartThenAnnouncesThemToTheOtherRunners() throws Exception {
        long id = dueSince(Duration.ofSeconds(5)); // before listening: its insert's notification is not the one asked about
        try (java.sql.Connection listener = TestDatabase.connect();
             java.sql.Statement listen = listener.createStatement()) {
            listen.execute("listen \"" + Notifier.channel(db.settings().schema()) + "\"");
            java.util.List<io.backtick.runner.queue.JobQueue.ClaimPosition> told = new java.util.ArrayList<>();
            Stager stager = new Stager(db.jobs(), new DatabaseHealth(), Duration.ofHours(1), told::add, System::nanoTime);

            assertThat(stager.runOnce()).isEqualTo(1);

            java.time.OffsetDateTime runAt = db.dsl().fetchOne("select run_at from jobs where id = ?", id)
                    .get(0, java.time.OffsetDateTime.class);
            assertThat(told).singleElement().satisfies(start -> assertThat(start.runAt().toInstant()).isEqualTo(runAt.toInstant()));
            io.backtick.runner.queue.JobQueue.ClaimPosition announced =
                    Notifier.announced(TestDatabase.notifications(listener, 1).get(0)).start();
            assertThat(announced.priority()).isEqualTo(told.get(0).priority());
            assertThat(announced.runAt().toInstant()).isEqualTo(runAt.toInstant());
        }
    }

    @Test
    void aRoundStagesEveryDueJobInBatchesEachStartingWhereTheLastEnded() {
        db.dsl().execute("insert into jobs (worker, state, run_at) select 'w', 'scheduled', now() - g * interval '1 millisecond' "
                + "from generate_series(1, ?) g", Stager.BATCH + 10);
        long notYet = db.dsl().fetchOne("insert into jobs (worker, state, run_at) values ('w', 'scheduled', now() + interval '1 hour') "
                + "returning id").get(0, Long.class);
        assertThat(stager(new AtomicLong(), Duration.ofNanos(1_000)).runOnce()).isEqualTo(Stager.BATCH + 10);
        assertThat(state(notYet)).isEqualTo(JobState.SCHEDULED);
    }
}
