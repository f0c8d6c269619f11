package io.backtick.runner.queue;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.JobRequest;
import io.backtick.api.JobState;
import io.backtick.runner.testsupport.QueueSchema;
import io.backtick.runner.testsupport.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class JobQueueTest {

    @RegisterExtension
    static final QueueSchema schema = new QueueSchema(8);

    static QueueDatabase db;
    static JobQueue queue;
    static BacktickClient client;

    @BeforeAll
    static void open() {
        db = schema.db();
        queue = db.jobs();
        client = schema.client();
    }

    @BeforeEach
    void clear() {
        db.dsl().execute("truncate jobs, workers");
    }

    @Test
    void claimMarksJobsRunningForTheRunnerAndCountsTheAttempt() {
        long id = client.schedule("w", 1, 2);

        List<ClaimedJob> claimed = queue.claim("runner-a", new String[] {"w"}, 10);

        assertThat(claimed).singleElement().satisfies(job -> {
            assertThat(job.id()).isEqualTo(id);
            assertThat(job.attempt()).isEqualTo(1);
            assertThat(job.argsJson()).isEqualTo("[1, 2]");
        });
        JobView stored = queue.find(id).orElseThrow();
        assertThat(stored.state()).isEqualTo(JobState.RUNNING);
        assertThat(stored.runnerId()).isEqualTo("runner-a");
        assertThat(stored.attemptedAt()).isNotNull();
        assertThat(queue.claim("runner-b", new String[] {"w"}, 10)).isEmpty();
    }

    @Test
    void claimTakesOnlyJobsOfTheWorkersAskedFor() {
        client.schedule("mine", 1);
        long other = client.schedule("theirs", 1);

        assertThat(queue.claim("r", new String[] {"mine"}, 10)).extracting(ClaimedJob::worker).containsExactly("mine");
        assertThat(queue.find(other).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
    }

    @Test
    void claimTakesHigherPriorityFirstThenOldestFirstAndHonoursTheLimit() {
        long low = client.enqueue(JobRequest.of("w").withPriority(0));
        long high = client.enqueue(JobRequest.of("w").withPriority(5));
        long lowLater = client.enqueue(JobRequest.of("w").withPriority(0));

        assertThat(queue.claim("r", new String[] {"w"}, 2)).extracting(ClaimedJob::id).containsExactly(high, low);
        assertThat(queue.claim("r", new String[] {"w"}, 2)).extracting(ClaimedJob::id).containsExactly(lowLater);
    }

    @Test
    void aClaimAfterAnEarlierOnesEndTakesTheRestOfItsPriorityThenLowerOnesAndLeavesWhatLiesBefore() {
        // One insert: the three share run_at, so the id alone orders them.
        List<Long> first = client.enqueueAll(List.of(JobRequest.of("w"), JobRequest.of("w"), JobRequest.of("w")));
        long lower = client.enqueue(JobRequest.of("w").withPriority(-1));
        String[] w = {"w"};

        JobQueue.Claim head = queue.claim("r", w, 1, null);
        assertThat(head.jobs()).extracting(ClaimedJob::id).containsExactly(first.get(0));
        assertThat(head.end().id()).isEqualTo(first.get(0));
        assertThat(head.end().priority()).isZero();
        long higher = client.enqueue(JobRequest.of("w").withPriority(5)); // before that end in claim order

        JobQueue.Claim after = queue.claim("r", w, 3, head.end());
        assertThat(after.jobs()).extracting(ClaimedJob::id).containsExactly(first.get(1), first.get(2), lower);
        assertThat(after.end()).isEqualTo(new JobQueue.ClaimPosition(-1,
                queue.find(lower).orElseThrow().runAt().atOffset(java.time.ZoneOffset.UTC), lower));
        assertThat(queue.find(higher).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);

        JobQueue.Claim past = queue.claim("r", w, 3, after.end());
        assertThat(past.jobs()).isEmpty();
        assertThat(past.end()).isNull();
        assertThat(queue.claim("r", w, 3, null).jobs()).extracting(ClaimedJob::id).containsExactly(higher);
    }

    @Test
    void aSweepFindsTheAvailableJobsBeforeAPointAndAClaimByPrimaryKeyTakesThoseStillAvailable() {
        // One insert: the three share run_at, so the id alone orders them.
        List<Long> same = client.enqueueAll(List.of(JobRequest.of("w"), JobRequest.of("w"), JobRequest.of("w")));
        long higher = client.enqueue(JobRequest.of("w").withPriority(5));
        client.enqueue(JobRequest.of("w").withPriority(-1));
        client.enqueue(JobRequest.of("x").withPriority(9));
        String[] w = {"w"};
        JobQueue.ClaimPosition point = new JobQueue.ClaimPosition(0,
                queue.find(same.get(1)).orElseThrow().runAt().atOffset(java.time.ZoneOffset.UTC), same.get(1));

        // The higher priority, then its own priority up to the point: not the point, nor what follows.
        assertThat(queue.availableBefore(w, point, 10)).extracting(JobQueue.ClaimPosition::id)
                .containsExactly(higher, same.get(0));
        assertThat(queue.availableBefore(w, point, 1)).extracting(JobQueue.ClaimPosition::id).containsExactly(higher);

        assertThat(queue.claim("other", w, 1)).extracting(ClaimedJob::id).containsExactly(higher);
        assertThat(queue.claimFound("r", new long[] {higher, same.get(0)}))
                .singleElement().satisfies(job -> {
                    assertThat(job.id()).isEqualTo(same.get(0));
                    assertThat(job.attempt()).isEqualTo(1);
                });
        assertThat(queue.find(same.get(0)).orElseThrow().runnerId()).isEqualTo("r");
        assertThat(queue.find(higher).orElseThrow().runnerId()).isEqualTo("other");
        assertThat(queue.find(higher).orElseThrow().attempt()).isEqualTo(1);
        assertThat(queue.availableBefore(w, point, 10)).isEmpty();
    }

    @Test
    void concurrentClaimsNeverTakeTheSameJob() throws Exception {
        List<JobRequest> requests = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            requests.add(JobRequest.of("w", i));
        }
        client.enqueueAll(requests);
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<List<Long>>> futures = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                String runner = "r" + t;
                Callable<List<Long>> claimer = () -> {
                    List<Long> ids = new ArrayList<>();
                    List<ClaimedJob> batch;
                    while (!(batch = queue.claim(runner, new String[] {"w"}, 37)).isEmpty()) {
                        batch.forEach(j -> ids.add(j.id()));
                    }
                    return ids;
                };
                futures.add(pool.submit(claimer));
            }
            List<Long> all = new ArrayList<>();
            for (Future<List<Long>> f : futures) {
                all.addAll(f.get());
            }
            Set<Long> distinct = new HashSet<>(all);
            assertThat(all).hasSize(2_000);
            assertThat(distinct).hasSize(2_000);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aClaimWaitsItsTurnBehindAnotherRunnersClaim() throws Exception {
        long id = client.schedule("w", 1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Connection otherRunner = connectToQueue()) {
            otherRunner.setAutoCommit(false);
            try (Statement st = otherRunner.createStatement()) {
                st.execute(JobQueue.CLAIM_TURN); // its claim has not committed yet
            }

            Future<List<ClaimedJob>> waiting = pool.submit(() -> queue.claim("r", new String[] {"w"}, 10));
            await().atMost(Duration.ofSeconds(10)).until(() -> claimsWaitingForTheirTurn() == 1);
            assertThat(waiting).isNotDone();

            otherRunner.commit();
            assertThat(waiting.get(10, SECONDS)).extracting(ClaimedJob::id).containsExactly(id);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aClaimPassesByTheJobsOfAClaimThatDidNotTakeItsTurn() throws Exception {
        List<Long> ids = enqueue(20);
        try (Connection otherRunner = connectToQueue()) {
            otherRunner.setAutoCommit(false);
            List<Long> taken = new ArrayList<>();
            try (PreparedStatement claim = otherRunner.prepareStatement(JobQueue.CLAIM)) { // no turn taken
                claim.setArray(1, otherRunner.createArrayOf("text", new String[] {"w"}));
                claim.setInt(2, 10);
                claim.setString(3, "other");
                try (ResultSet r = claim.executeQuery()) {
                    while (r.next()) {
                        taken.add(r.getLong(1));
                    }
                }
            }
            assertThat(taken).containsExactlyElementsOf(ids.subList(0, 10));

            assertThat(claimWaitingFor(otherRunner, 20)).extracting(ClaimedJob::id).containsExactlyElementsOf(ids.subList(10, 20));
            assertThat(taken).allSatisfy(id -> assertThat(queue.find(id).orElseThrow().runnerId()).isEqualTo("other"));
        }
    }

    @Test
    void aClaimPassesByAJobCancelledAfterItLookedForJobs() throws Exception {
        List<Long> ids = enqueue(3);
        try (Connection canceller = connectToQueue()) {
            canceller.setAutoCommit(false);
            try (PreparedStatement cancel = canceller.prepareStatement(
                    "update jobs set state = 'cancelled', finalized_at = now() where id = ?")) {
                cancel.setLong(1, ids.get(1));
                assertThat(cancel.executeUpdate()).isEqualTo(1);
            }

            assertThat(claimWaitingFor(canceller, 10)).extracting(ClaimedJob::id).containsExactly(ids.get(0), ids.get(2));
            assertThat(queue.find(ids.get(1)).orElseThrow().state()).isEqualTo(JobState.CANCELLED);
        }
    }

    /**
     * Claims up to {@code limit} jobs while {@code holder} has rows changed and not committed:
     * waits until the claim waits for {@code holder}, then commits it and returns what the claim took.
     */
    private static List<ClaimedJob> claimWaitingFor(Connection holder, int limit) throws Exception {
        int holderPid = backendPid(holder);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<List<ClaimedJob>> waiting = pool.submit(() -> queue.claim("r", new String[] {"w"}, limit));
            await().atMost(Duration.ofSeconds(10)).until(() -> sessionsWaitingFor(holderPid) == 1);
            holder.commit();
            return waiting.get(10, SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }

    private static List<Long> enqueue(int count) {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ids.add(client.schedule("w", i));
        }
        return ids;
    }

    private static int backendPid(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet r = st.executeQuery("select pg_backend_pid()")) {
            r.next();
            return r.getInt(1);
        }
    }

    /** How many sessions wait for a lock that the session with process id {@code pid} holds. */
    private static int sessionsWaitingFor(int pid) {
        return db.dsl().fetchSingle("select count(*) from pg_stat_activity where ? = any(pg_blocking_pids(pid))", pid)
                .get(0, Integer.class);
    }

    @Test
    void aClaimThatFailsGivesUpItsTurn() throws Exception {
        client.schedule("w", 1);

        assertThatThrownBy(() -> queue.claim("r", new String[] {"w"}, -1)) // LIMIT must not be negative
                .isInstanceOf(DataAccessException.class)
                .hasMessageContaining("claiming jobs failed");

        try (Connection otherRunner = connectToQueue()) {
            otherRunner.setAutoCommit(false);
            try (Statement st = otherRunner.createStatement();
                 ResultSet r = st.executeQuery(JobQueue.CLAIM_TURN.replace("pg_advisory_xact_lock", "pg_try_advisory_xact_lock"))) {
                r.next();
                assertThat(r.getBoolean(1)).as("the claim turn is free").isTrue();
            }
            otherRunner.rollback();
        }
        assertThat(queue.claim("r", new String[] {"w"}, 10)).hasSize(1);
    }

    private static Connection connectToQueue() throws SQLException {
        Connection c = TestDatabase.connect();
        try (Statement st = c.createStatement()) {
            st.execute("set search_path to \"" + db.settings().schema() + "\"");
        }
        return c;
    }

    private static int claimsWaitingForTheirTurn() {
        return db.dsl().fetchSingle("select count(*) from pg_locks where locktype = 'advisory' and not granted"
                + " and classid = 'jobs'::regclass::oid and objid = 1 and objsubid = 2").get(0, Integer.class);
    }

    @Test
    void finishIgnoresAnOutcomeForAnAttemptThatIsNoLongerRunning() {
        long id = client.schedule("w");
        ClaimedJob job = queue.claim("r", new String[] {"w"}, 1).get(0);
        assertThat(queue.finish(List.of(Outcome.completed(id, job.attempt())))).isEqualTo(1);

        // A second, late outcome for the same attempt finds the job completed and changes nothing.
        AttemptError error = AttemptError.of(job.attempt(), Instant.now(), "exception", new RuntimeException("late"));
        assertThat(queue.finish(List.of(Outcome.discard(id, job.attempt(), error)))).isZero();
        JobView stored = queue.find(id).orElseThrow();
        assertThat(stored.state()).isEqualTo(JobState.COMPLETED);
        assertThat(stored.finalizedAt()).isNotNull();
        assertThat(stored.errorsJson()).isEqualTo("[]");
    }

    @Test
    void finishWritesAMixedBatchInOneCall() {
        long done = client.schedule("w");
        long retry = client.schedule("w");
        long discard = client.schedule("w");
        long release = client.schedule("w");
        queue.claim("r", new String[] {"w"}, 10);
        AttemptError boom = AttemptError.of(1, Instant.now(), "exception", new IllegalStateException("boom"));

        int updated = queue.finish(List.of(
                Outcome.completed(done, 1),
                Outcome.retry(retry, 1, Duration.ofHours(1), boom),
                Outcome.discard(discard, 1, boom),
                Outcome.release(release, 1)));

        assertThat(updated).isEqualTo(4);
        assertThat(queue.find(done).orElseThrow().state()).isEqualTo(JobState.COMPLETED);
        JobView retried = queue.find(retry).orElseThrow();
        assertThat(retried.state()).isEqualTo(JobState.RETRYABLE);
        assertThat(retried.runAt()).isAfter(Instant.now().plus(Duration.ofMinutes(59)));
        assertThat(retried.errorsJson()).contains("\"boom\"").contains("IllegalStateException").contains("\"attempt\": 1");
        JobView discarded = queue.find(discard).orElseThrow();
        assertThat(discarded.state()).isEqualTo(JobState.DISCARDED);
        assertThat(discarded.finalizedAt()).isNotNull();
        JobView released = queue.find(release).orElseThrow();
        assertThat(released.state()).isEqualTo(JobState.AVAILABLE);
        assertThat(released.attempt()).as("a released job gets its attempt back").isZero();
    }

    @Test
    void stagerMakesOnlyDueJobsAvailable() {
        long due = client.enqueue(JobRequest.of("w").in(Duration.ofMillis(1)));
        long later = client.enqueue(JobRequest.of("w").in(Duration.ofHours(1)));
        assertThat(queue.find(later).orElseThrow().state()).isEqualTo(JobState.SCHEDULED);

        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> queue.stageDue(100).jobs() > 0
                || queue.find(due).orElseThrow().state() == JobState.AVAILABLE);

        assertThat(queue.find(due).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
        assertThat(queue.find(later).orElseThrow().state()).isEqualTo(JobState.SCHEDULED);
    }

    @Test
    void jobsStagedHandedBackOrReleasedAreAnnouncedWhereTheAvailableOnesStart() throws Exception {
        try (Connection listener = TestDatabase.connect();
             Statement listen = listener.createStatement()) {
            listen.execute("listen \"" + io.backtick.runner.engine.Notifier.channel(db.settings().schema()) + "\"");
            client.enqueueAll(List.of(
                    JobRequest.of("w").withPriority(2).in(Duration.ofHours(1)),
                    JobRequest.of("w").withPriority(5).in(Duration.ofHours(2)),
                    JobRequest.of("w").withPriority(5).in(Duration.ofHours(3))));
            // The insert's: nothing available, the first due in an hour.
            assertThat(TestDatabase.notifications(listener, 1)).containsExactly("s " + micros("select min(run_at) from jobs"));
            db.dsl().execute("update jobs set run_at = run_at - interval '4 hours'");

            // Come due: the highest priority among them, the earliest run_at among them.
            MadeAvailable staged = queue.stageDue(100);
            assertThat(staged.jobs()).isEqualTo(3);
            assertThat(staged.start()).isEqualTo(position(5, "select min(run_at) from jobs"));
            assertThat(TestDatabase.notifications(listener, 1)).containsExactly(payload(staged.start()));

            // A lost runner's jobs: only those that run again count, not those it discards.
            assertThat(queue.claim("lost", new String[] {"w"}, 10)).hasSize(3);
            db.dsl().execute("update jobs set max_attempts = 1 where priority = 5");
            MadeAvailable handedBack = db.maintenance().handBackFromEarlierStart("lost");
            assertThat(handedBack.jobs()).isEqualTo(3);
            assertThat(handedBack.start()).isEqualTo(position(2, "select run_at from jobs where priority = 2"));
            assertThat(TestDatabase.notifications(listener, 1)).containsExactly(payload(handedBack.start()));

            // A stopping runner's hand-back, written with other outcomes.
            ClaimedJob job = queue.claim("stopping", new String[] {"w"}, 10).get(0);
            queue.finish(List.of(Outcome.release(job.id(), job.attempt())));
            assertThat(queue.find(job.id()).orElseThrow().state()).isEqualTo(JobState.AVAILABLE);
            assertThat(TestDatabase.notifications(listener, 1)).containsExactly(
                    payload(position(2, "select run_at from jobs where id = " + job.id())));

            // Nothing due: nothing announced.
            assertThat(queue.stageDue(100)).isEqualTo(new MadeAvailable(0, null));
            client.schedule("w");
            assertThat(TestDatabase.notifications(listener, 1)).singleElement().asString().startsWith("k 0 ");
        }
    }

    @Test
    void aStageSaysWhenTheNextWaitingJobFallsDueByTheDatabasesClock() {
        client.enqueueAll(List.of(
                JobRequest.of("w").in(Duration.ofHours(2)),
                JobRequest.of("w").in(Duration.ofHours(1)),
                JobRequest.of("w").in(Duration.ofHours(3))));
        db.dsl().execute("update jobs set run_at = now() - interval '1 minute' where run_at > now() + interval '150 minutes'");
        db.dsl().execute("update jobs set state = 'retryable', run_at = now() + interval '30 minutes' where run_at > now() + interval '90 minutes'");

        JobQueue.Stage stage = queue.stageDue(100, null);

        assertThat(stage.made().jobs()).isEqualTo(1);
        assertThat(stage.nextDue()).as("the retry in 30 minutes comes before the job scheduled in an hour")
                .isEqualTo(db.dsl().fetchOne("select run_at from jobs where state = 'retryable'").get(0, java.time.OffsetDateTime.class));
        assertThat(Duration.between(stage.databaseNow(), stage.nextDue())).isBetween(Duration.ofMinutes(29), Duration.ofMinutes(30));

        db.dsl().execute("update jobs set state = 'cancelled', finalized_at = now() where state in ('scheduled', 'retryable')");
        assertThat(queue.stageDue(100, null).nextDue()).isNull();
    }

    @Test
    void aStageCommitsWithoutWaitingForTheFlushButLeavesItsConnectionCommittingDurably() {
        // One connection: whatever the stage left on it, the next statement meets. A setting made
        // for the session rather than the stage's transaction would leave completions undurable.
        try (QueueDatabase single = TestDatabase.newQueue(JobQueueTest.class, 1)) {
            try {
                org.jooq.Results sentAhead = single.dsl().fetchMany(JobQueue.ASYNC_COMMIT + ";\n"
                        + "select current_setting('synchronous_commit')");
                assertThat(sentAhead.get(1).get(0).get(0, String.class)).as("in the statement sent behind it").isEqualTo("off");

                single.dsl().execute("insert into jobs (worker, state, run_at) values ('w', 'scheduled', now() - interval '1 second')");
                assertThat(single.jobs().stageDue(10, null).made().jobs()).isEqualTo(1);

                assertThat(single.dsl().fetchOne("show synchronous_commit").get(0, String.class)).isEqualTo("on");
            } finally {
                TestDatabase.dropSchema(single.settings().schema());
            }
        }
    }

    private static long micros(String runAtQuery) {
        return db.dsl().fetchOne("select (extract(epoch from (" + runAtQuery + ")) * 1000000)::bigint").get(0, Long.class);
    }

    private static JobQueue.ClaimPosition position(int priority, String runAtQuery) {
        return new JobQueue.ClaimPosition(priority, db.dsl().fetchOne(runAtQuery).get(0, java.time.OffsetDateTime.class)
                .withOffsetSameInstant(java.time.ZoneOffset.UTC), 0);
    }

    private static String payload(JobQueue.ClaimPosition start) {
        return "k " + start.priority() + " " + java.time.temporal.ChronoUnit.MICROS.between(Instant.EPOCH, start.runAt());
    }

    @Test
    void claimReadsThePartialClaimIndex() {
        String plan = String.join("\n", db.dsl().fetch(
                "explain select id from jobs where state = 'available' and worker = any(array['w']) "
                        + "order by priority desc, run_at, id limit 10 for update skip locked")
                .getValues(0, String.class));
        db.dsl().execute("set enable_seqscan = off"); // tiny tables: make the planner show what it would use
        String forced = String.join("\n", db.dsl().fetch(
                "explain select id from jobs where state = 'available' and worker = any(array['w']) "
                        + "order by priority desc, run_at, id limit 10 for update skip locked")
                .getValues(0, String.class));
        assertThat(plan + forced).contains("jobs_claim_idx");
    }
}
