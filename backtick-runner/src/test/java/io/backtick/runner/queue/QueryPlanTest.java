package io.backtick.runner.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.backtick.runner.testsupport.TestDatabase;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The hot statements keep their index plans on a table whose statistics were taken while no job
 * ran (the usual case after a bulk insert): claiming reads the claim index in order, finishing
 * goes by primary key and joins nothing.
 */
class QueryPlanTest {

    static QueueDatabase db;
    static List<ClaimedJob> claimed;

    @BeforeAll
    static void fill() {
        db = TestDatabase.newQueue(QueryPlanTest.class, 2);
        db.dsl().execute("insert into jobs (worker, args) select 'plan', to_jsonb(g) from generate_series(1, 50000) g");
        db.dsl().execute("analyze jobs");
        claimed = db.jobs().claim("plan-test", new String[] {"plan"}, 1_000);
        assertThat(claimed).hasSize(1_000);
    }

    @AfterAll
    static void close() {
        db.close();
        TestDatabase.dropSchema(db.settings().schema());
    }

    @Test
    void claimingReadsTheClaimIndexInOrder() {
        String plan = explain(db.dsl().renderInlined(db.jobs().claimQuery("plan-test", new String[] {"plan"}, 1_000)));
        assertThat(plan).contains("Index Scan using jobs_claim_idx").doesNotContain("Seq Scan").doesNotContain("Sort");
    }

    @Test
    void completingABatchGoesByPrimaryKey() {
        Long[] ids = claimed.stream().map(ClaimedJob::id).toArray(Long[]::new);
        String plan = explain(JobQueue.COMPLETE.replaceFirst("\\?::bigint\\[\\]", "'{" + join(ids) + "}'::bigint[]")
                .replaceFirst("\\?", "1"));
        assertThat(plan).contains("jobs_pkey").doesNotContain("Seq Scan").doesNotContain("jobs_running_idx")
                .doesNotContain("Nested Loop");
    }

    @Test
    void rescuingReadsTheRunningIndex() {
        String plan = explain("""
                select j.id from jobs j
                where j.state = 'running' and j.runner_id is not null
                  and j.attempted_at < now() - interval '30 seconds'
                limit 1000
                """);
        assertThat(plan).contains("jobs_running_idx").doesNotContain("Seq Scan");
    }

    private static String explain(String sql) {
        return db.dsl().fetch("explain " + sql).stream().map(r -> r.get(0, String.class))
                .collect(Collectors.joining("\n"));
    }

    private static String join(Long[] ids) {
        return java.util.Arrays.stream(ids).map(String::valueOf).collect(Collectors.joining(","));
    }
}
