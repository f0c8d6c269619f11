package io.backtick.runner.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.backtick.api.BacktickClient;
import io.backtick.api.BacktickException;
import io.backtick.api.JobRequest;
import io.backtick.api.JobState;
import io.backtick.api.Json;
import io.backtick.runner.queue.JobView;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.queue.WorkerDefaults;
import io.backtick.runner.testsupport.QueueSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The client applications enqueue with, against a real queue (it needs only backtick-api and the driver). */
class BacktickClientTest {

    record Order(long id, String customer) {
    }

    @RegisterExtension
    static final QueueSchema schema = new QueueSchema(4);

    static QueueDatabase db;
    static BacktickClient client;

    @BeforeAll
    static void open() {
        db = schema.db();
        client = schema.client();
        db.dsl().execute("create table orders (id bigint primary key)");
    }

    @BeforeEach
    void clear() {
        db.dsl().execute("truncate jobs, workers, orders");
    }

    @Test
    void aKeyedJobIsEnqueuedOnceWhileItHasNotEndedAndAgainOnceItHas() {
        long first = client.enqueue(JobRequest.of("refresh", 42).withKey("account-42"));

        assertThat(client.enqueue(JobRequest.of("refresh", 42).withKey("account-42"))).as("waiting").isEqualTo(first);
        assertThat(client.enqueue(JobRequest.of("audit", 42).withKey("account-42"))).as("another worker's key space")
                .isNotEqualTo(first);
        db.dsl().execute("update jobs set state = 'running', attempt = 1, runner_id = 'r', attempted_at = now() where id = ?", first);
        assertThat(client.enqueue(JobRequest.of("refresh", 42).withKey("account-42"))).as("running").isEqualTo(first);
        db.dsl().execute("update jobs set state = 'retryable', run_at = now() + interval '1 minute' where id = ?", first);
        assertThat(client.enqueue(JobRequest.of("refresh", 42).withKey("account-42"))).as("waiting to retry").isEqualTo(first);
        db.dsl().execute("update jobs set state = 'completed', finalized_at = now() where id = ?", first);

        long second = client.enqueue(JobRequest.of("refresh", 42).withKey("account-42"));

        assertThat(second).as("the key is free once its job has ended").isNotEqualTo(first);
        assertThat(db.jobs().find(second).orElseThrow().key()).isEqualTo("account-42");
        assertThat(db.dsl().fetchValue("select count(*) from jobs where worker = 'refresh'")).isEqualTo(2L);
    }

    @Test
    void enqueueAllAnswersEachKeyedRequestInItsPlaceWithTheJobThatHoldsTheKey() {
        long holder = client.enqueue(JobRequest.of("refresh", 7).withKey("account-7").in(Duration.ofMinutes(5)));
        List<JobRequest> requests = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            requests.add(JobRequest.of("refresh", i));
        }
        requests.set(100, JobRequest.of("refresh", 7).withKey("account-7"));
        requests.set(200, JobRequest.of("refresh", 8).withKey("account-8"));
        requests.set(300, JobRequest.of("refresh", 8).withKey("account-8"));

        List<Long> ids = client.enqueueAll(requests);

        assertThat(ids).hasSize(600);
        assertThat(ids.get(100)).isEqualTo(holder);
        assertThat(ids.get(300)).as("the same key twice in one call").isEqualTo(ids.get(200));
        assertThat(new HashSet<>(ids)).hasSize(599);
        assertThat(db.dsl().fetchValue("select count(*) from jobs")).as("the holder and 598 new ones").isEqualTo(599L);
        for (int i : new int[] {0, 99, 101, 599}) {
            assertThat(db.jobs().find(ids.get(i)).orElseThrow().argsJson()).isEqualTo("[" + i + "]");
        }
    }

    @Test
    void enqueuesOfOneKeyAtTheSameMomentMakeOneJob() throws Exception {
        int threads = 8;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        BacktickClient racing = BacktickClient.create(schema.db().dataSource()).withSchema(db.settings().schema());
        try {
            List<Future<Long>> ids = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                ids.add(pool.submit(() -> {
                    start.await();
                    return racing.enqueue(JobRequest.of("refresh", 9).withKey("account-9"));
                }));
            }
            start.countDown();
            Set<Long> distinct = new HashSet<>();
            for (Future<Long> id : ids) {
                distinct.add(id.get(30, TimeUnit.SECONDS));
            }

            assertThat(distinct).hasSize(1);
            assertThat(db.dsl().fetchValue("select count(*) from jobs")).isEqualTo(1L);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aKeyedJobEnqueuedInARolledBackTransactionFreesItsKey() throws Exception {
        try (Connection tx = db.dataSource().getConnection()) {
            tx.setAutoCommit(false);
            long id = client.enqueue(tx, JobRequest.of("refresh", 5).withKey("account-5"));
            assertThat(client.enqueue(tx, JobRequest.of("refresh", 5).withKey("account-5"))).isEqualTo(id);
            tx.rollback();
        }
        assertThat(db.jobs().countByState()).isEmpty();
        long id = client.enqueue(JobRequest.of("refresh", 5).withKey("account-5"));
        assertThat(db.jobs().find(id)).isPresent();
    }

    @Test
    void aBlankOrOverlongKeyIsRefusedAtOnce() {
        assertThatThrownBy(() -> JobRequest.of("refresh").withKey(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("key");
        assertThatThrownBy(() -> JobRequest.of("refresh").withKey("k".repeat(JobRequest.MAX_KEY_LENGTH + 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key");
    }

    @Test
    void aJobEnqueuedInARolledBackTransactionLeavesNoTrace() throws Exception {
        try (Connection tx = db.dataSource().getConnection()) {
            tx.setAutoCommit(false);
            insertOrder(tx, 1);
            long id = client.schedule(tx, "send-receipt", 1);
            assertThat(id).isPositive();
            tx.rollback();
        }
        assertThat(db.jobs().countByState()).isEmpty();
        assertThat(db.dsl().fetchCount(db.dsl().selectFrom("orders"))).isZero();
    }

    @Test
    void aJobEnqueuedInACommittedTransactionAppearsWithTheBusinessData() throws Exception {
        long id;
        try (Connection tx = db.dataSource().getConnection()) {
            tx.setAutoCommit(false);
            insertOrder(tx, 2);
            id = client.schedule(tx, "send-receipt", 2);
            // Not visible to anyone else before the commit.
            assertThat(db.jobs().find(id)).isEmpty();
            tx.commit();
        }
        assertThat(db.jobs().find(id)).get().extracting(JobView::state).isEqualTo(JobState.AVAILABLE);
    }

    @Test
    void argumentsAreStoredAsAJsonArrayVerbatim() {
        String tricky = "'; drop table jobs; -- $(rm -rf /) `x` \"q\" \\ ü \n";
        long id = client.schedule("w'; select 1; --", 3, 4.5, true, null, tricky, new Order(7, "ann"),
                List.of(1, 2), Map.of("k", "v"), Json.raw("{\"raw\": [1]}"));

        JobView job = db.jobs().find(id).orElseThrow();
        assertThat(job.worker()).isEqualTo("w'; select 1; --");
        Object stored = db.dsl().fetchValue("select args::text from jobs where id = " + id);
        assertThat(stored).isEqualTo(db.dsl().fetchValue("select ?::jsonb::text",
                "[3, 4.5, true, null, \"'; drop table jobs; -- $(rm -rf /) `x` \\\"q\\\" \\\\ ü \\n\","
                        + " {\"id\": 7, \"customer\": \"ann\"}, [1, 2], {\"k\": \"v\"}, {\"raw\": [1]}]"));
    }

    @Test
    void aJobTakesItsWorkersDeclaredDefaultsUnlessTheRequestSaysOtherwise() {
        db.jobs().registerWorkers(List.of(new WorkerDefaults("mailer", "mail", 7, 3, null)));

        JobView defaults = db.jobs().find(client.schedule("mailer", "a@b")).orElseThrow();
        JobView overridden = db.jobs().find(client.enqueue(JobRequest.of("mailer", "a@b")
                .withQueue("urgent").withPriority(9).withMaxAttempts(1))).orElseThrow();
        JobView unknown = db.jobs().find(client.schedule("nobody-serves-this")).orElseThrow();

        assertThat(defaults).extracting(JobView::queue, JobView::priority, JobView::maxAttempts).containsExactly("mail", 7, 3);
        assertThat(overridden).extracting(JobView::queue, JobView::priority, JobView::maxAttempts).containsExactly("urgent", 9, 1);
        assertThat(unknown).extracting(JobView::queue, JobView::priority, JobView::maxAttempts).containsExactly("default", 0, 16);
    }

    @Test
    void aJobForLaterIsScheduledAtThatTime() {
        Instant at = Instant.now().plus(Duration.ofHours(2));
        JobView scheduled = db.jobs().find(client.scheduleAt(at, "w")).orElseThrow();
        JobView delayed = db.jobs().find(client.scheduleIn(Duration.ofMinutes(5), "w")).orElseThrow();

        assertThat(scheduled.state()).isEqualTo(JobState.SCHEDULED);
        assertThat(Duration.between(at, scheduled.runAt()).abs()).isLessThan(Duration.ofMillis(1));
        assertThat(delayed.state()).isEqualTo(JobState.SCHEDULED);
        assertThat(delayed.runAt()).isBetween(Instant.now().plus(Duration.ofMinutes(4)), Instant.now().plus(Duration.ofMinutes(6)));
    }

    @Test
    void manyJobsGoInAtOnceWithTheirIdsInOrder() {
        List<JobRequest> requests = new ArrayList<>();
        for (int i = 0; i < 12_345; i++) {
            requests.add(JobRequest.of("bulk", i));
        }

        List<Long> ids = client.enqueueAll(requests);

        assertThat(ids).hasSize(12_345).isSorted().doesNotHaveDuplicates();
        assertThat(db.jobs().find(ids.get(12_344)).orElseThrow().argsJson()).isEqualTo("[12344]");
        assertThat(db.jobs().countByState()).containsEntry(JobState.AVAILABLE, 12_345L);
    }

    @Test
    void aBulkEnqueueStoresWhatSingleEnqueuesStore() {
        db.jobs().registerWorkers(List.of(new WorkerDefaults("mailer", "mail", 7, 3, null)));
        Instant past = Instant.parse("2020-01-02T03:04:05.123456Z");
        List<JobRequest> requests = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            // Arguments COPY's text format must escape, and ones it must not touch.
            JobRequest r = JobRequest.of(i % 2 == 0 ? "mailer" : "undeclared",
                    i, "tab\there", "line\nbreak\r", "back\\slash", "quote \" ' ;", "unicode \u00e9\u4e2d");
            if (i % 3 == 0) {
                r = r.withQueue("q" + i).withPriority(i).withMaxAttempts(1 + i % 5);
            }
            if (i % 5 == 0) {
                r = r.in(Duration.ofHours(1));
            } else if (i % 7 == 0) {
                r = r.at(past);
            }
            requests.add(r);
        }

        List<Long> bulk = client.enqueueAll(requests); // 600 at once: COPY
        List<Long> single = new ArrayList<>();
        for (JobRequest r : requests) {
            single.add(client.enqueue(r)); // one at a time: the multi-row insert
        }

        assertThat(bulk).hasSize(600).isSorted().doesNotHaveDuplicates();
        for (int i = 0; i < requests.size(); i++) {
            JobView viaCopy = db.jobs().find(bulk.get(i)).orElseThrow();
            JobView viaInsert = db.jobs().find(single.get(i)).orElseThrow();
            assertThat(viaCopy).usingRecursiveComparison()
                    .ignoringFields("id", "runAt", "createdAt")
                    .isEqualTo(viaInsert);
            if (requests.get(i).runAt() != null) {
                assertThat(viaCopy.runAt()).isEqualTo(past).isEqualTo(viaInsert.runAt());
            } else if (requests.get(i).delay() != null) {
                assertThat(Duration.between(viaCopy.createdAt(), viaCopy.runAt())).isEqualTo(Duration.ofHours(1));
            } else {
                assertThat(viaCopy.runAt()).isEqualTo(viaCopy.createdAt());
            }
        }
        assertThat(db.jobs().find(bulk.get(1)).orElseThrow().argsJson())
                .isEqualTo("[1, \"tab\\there\", \"line\\nbreak\\r\", \"back\\\\slash\", \"quote \\\" ' ;\", \"unicode é中\"]");
        assertThat(db.jobs().find(bulk.get(0)).orElseThrow()).extracting(JobView::queue, JobView::priority,
                JobView::maxAttempts, JobView::state).containsExactly("q0", 0, 1, JobState.SCHEDULED);
        assertThat(db.jobs().find(bulk.get(2)).orElseThrow()).extracting(JobView::queue, JobView::priority,
                JobView::maxAttempts, JobView::state).containsExactly("mail", 7, 3, JobState.AVAILABLE);
        assertThat(db.jobs().find(bulk.get(1)).orElseThrow()).extracting(JobView::queue, JobView::priority,
                JobView::maxAttempts).containsExactly("default", 0, 16);
    }

    @Test
    void aBulkEnqueueWithOneBadArgumentStoresNothing() {
        List<JobRequest> requests = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            requests.add(i == 777 ? JobRequest.ofJson("w", "{not json") : JobRequest.of("w", i));
        }
        assertThatThrownBy(() -> client.enqueueAll(requests))
                .isInstanceOf(BacktickException.class)
                .hasMessageContaining("not valid JSON");
        assertThat(db.jobs().countByState()).isEmpty();
    }

    @Test
    void aBulkEnqueueInARolledBackTransactionLeavesNoTrace() throws Exception {
        List<JobRequest> requests = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            requests.add(JobRequest.of("w", i));
        }
        try (Connection tx = db.dataSource().getConnection()) {
            tx.setAutoCommit(false);
            assertThat(client.enqueueAll(tx, requests)).hasSize(2_000);
            tx.rollback();
            tx.setAutoCommit(true);
        }
        assertThat(db.jobs().countByState()).isEmpty();
    }

    @Test
    void invalidRawJsonIsRefusedWithAClearMessage() {
        assertThatThrownBy(() -> client.schedule("w", Json.raw("{not json")))
                .isInstanceOf(BacktickException.class)
                .hasMessageContaining("not valid JSON");
        assertThat(db.jobs().countByState()).isEmpty();
    }

    @Test
    void aSchemaWithoutTheQueueSaysToMigrate() {
        BacktickClient elsewhere = client.withSchema("no_such_queue_schema");
        assertThatThrownBy(() -> elsewhere.schedule("w"))
                .isInstanceOf(BacktickException.class)
                .hasMessageContaining("backtick migrate");
    }

    private static void insertOrder(Connection tx, long id) throws Exception {
        try (PreparedStatement insert = tx.prepareStatement(
                "insert into \"" + db.settings().schema() + "\".orders (id) values (?)")) {
            insert.setLong(1, id);
            insert.executeUpdate();
        }
    }
}
