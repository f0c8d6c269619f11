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
    void claimingReadsTheClaimIndexInOrderAndWritesTheRowsItFoundByAddress() {
        // The driver prepares the claim on the server, where PostgreSQL may settle on a generic
        // plan (one made without the bound values): that is the plan to check.
        String plan = genericPlan(JobQueue.CLAIM, "'{plan}'::text[]", "1000", "'plan-test'");
        assertThat(plan).contains("Index Scan using jobs_claim_idx").contains("Tid Scan on jobs")
                .doesNotContain("Seq Scan").doesNotContain("Sort");
    }

    @Test
    void completingABatchGoesByPrimaryKey() {
        String ids = "'{" + claimed.stream().map(j -> String.valueOf(j.id())).collect(Collectors.joining(",")) + "}'";
        String plan = genericPlan(JobQueue.COMPLETE, ids + "::bigint[]", "1");
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

    /** The plan PostgreSQL makes for {@code sql} without looking at its parameters' values. */
    private static String genericPlan(String sql, String... values) {
        String prepared = sql;
        for (int i = 1; prepared.contains("?"); i++) {
            prepared = prepared.replaceFirst("\\?", "\\$" + i);
        }
        String statement = prepared;
        return db.dsl().connectionResult(c -> {
            try (var s = c.createStatement()) {
                s.execute("set plan_cache_mode = force_generic_plan");
                s.execute("prepare plan_test as " + statement);
                try (var rs = s.executeQuery("explain execute plan_test(" + String.join(", ", values) + ")")) {
                    StringBuilder plan = new StringBuilder();
                    while (rs.next()) {
                        plan.append(rs.getString(1)).append('\n');
                    }
                    return plan.toString();
                } finally {
                    s.execute("deallocate plan_test");
                    s.execute("reset plan_cache_mode");
                }
            }
        });
    }
}
