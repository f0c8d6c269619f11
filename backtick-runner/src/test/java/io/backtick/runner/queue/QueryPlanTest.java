package io.backtick.runner.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.backtick.runner.testsupport.QueueSchema;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The hot statements keep their index plans on a table whose statistics were taken while no job
 * ran (the usual case after a bulk insert): claiming reads the claim index in order, finishing
 * goes by primary key and joins nothing.
 */
class QueryPlanTest {

    @RegisterExtension
    static final QueueSchema schema = new QueueSchema(2);

    static QueueDatabase db;
    static List<ClaimedJob> claimed;

    @BeforeAll
    static void fill() {
        db = schema.db();
        db.dsl().execute("insert into jobs (worker, args) select 'plan', to_jsonb(g) from generate_series(1, 50000) g");
        db.dsl().execute("analyze jobs");
        claimed = db.jobs().claim("plan-test", new String[] {"plan"}, 1_000);
        assertThat(claimed).hasSize(1_000);
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
    void aClaimAfterAnEarlierOnesEndStartsItsRangeScansThere() {
        String plan = genericPlan(JobQueue.CLAIM_AFTER, "'{plan}'::text[]", "0", "now() - interval '1 hour'", "1000",
                "1000", "'{plan}'::text[]", "0", "1000", "1000", "'plan-test'");
        assertThat(plan.split("Index Scan using jobs_claim_idx", -1)).hasSize(3);
        assertThat(plan).contains("Index Cond: ((priority = $2) AND (ROW(run_at, id) > ROW($3, $4)))")
                .contains("Index Cond: (priority < $7)").contains("Tid Scan on jobs")
                .doesNotContain("Seq Scan").doesNotContain("Sort");
    }

    @Test
    void aSweepReadsTheClaimIndexInTwoRangesThatEndAtItsPoint() {
        String plan = genericPlan(JobQueue.AVAILABLE_BEFORE, "'{plan}'::text[]", "0", "100", "'{plan}'::text[]", "0",
                "now()", "1000", "100", "100");
        assertThat(plan.split("jobs_claim_idx", -1)).hasSize(3);
        assertThat(plan).contains("Index Cond: (priority > $2)")
                .contains("Index Cond: ((priority = $5) AND (ROW(run_at, id) < ROW($6, $7)))")
                .doesNotContain("Seq Scan").doesNotContain("Sort");
    }

    @Test
    void aClaimOfJobsASweepFoundGoesByPrimaryKey() {
        String plan = genericPlan(JobQueue.CLAIM_FOUND, "'plan-test'", "'{1,2,3}'::bigint[]");
        assertThat(plan).contains("jobs_pkey").doesNotContain("Seq Scan").doesNotContain("jobs_claim_idx");
    }

    @Test
    void claimingWritesByAddressEvenWhereStatisticsSayNoJobWaits() throws Exception {
        // Statistics taken just as the queue ran dry (the runners' own ANALYZE, or autovacuum's)
        // promise an empty claim index. Had the update's own condition matched that index's
        // predicate, the planner would read all of it for the update, testing every entry
        // against the claim's addresses one by one: 145 ms for a claim of 4,000 at 10,000 waiting.
        try (Connection c = db.dataSource().getConnection()) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("update jobs set state = 'completed', finalized_at = now() where state = 'available'");
                s.execute("analyze jobs");
                s.execute("update jobs set state = 'available', finalized_at = null"
                        + " where id in (select id from jobs where state = 'completed' limit 10000)");
                String plan = genericPlan(c, JobQueue.CLAIM, "'{plan}'::text[]", "4000", "'plan-test'");
                assertThat(plan).contains("Tid Scan on jobs").doesNotContain("Seq Scan");
            } finally {
                c.rollback(); // the statistics too: ANALYZE is transactional
            }
        }
    }

    @Test
    void completingABatchGoesByPrimaryKey() {
        String ids = "'{" + claimed.stream().map(j -> String.valueOf(j.id())).collect(Collectors.joining(",")) + "}'";
        String plan = genericPlan(JobQueue.COMPLETE, ids + "::bigint[]", "1");
        assertThat(plan).contains("jobs_pkey").doesNotContain("Seq Scan").doesNotContain("jobs_running_idx")
                .doesNotContain("Nested Loop");
    }

    @Test
    void stagingReadsTheDueIndex() {
        String plan = genericPlan(JobQueue.STAGE_DUE, "5000");
        assertThat(plan).contains("Index Scan using jobs_due_idx").doesNotContain("Seq Scan");
    }

    @Test
    void stagingFromAPointReadsTheDueIndexFromThere() {
        String plan = genericPlan(JobQueue.STAGE_DUE_FROM, "now() - interval '1 minute'", "5000");
        assertThat(plan).contains("Index Scan using jobs_due_idx").contains("run_at >= $1")
                .doesNotContain("Seq Scan");
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

    @Test
    void rescuingTheJobsOfRunnersKnownLostReadsTheRunningIndexForThoseRunnersOnly() {
        String plan = genericPlan(MaintenanceQueue.JOBS_OF_LOST_RUNNERS, "30000", "30000", "1000");
        assertThat(plan).contains("Index Scan using jobs_running_idx on jobs")
                .contains("runner_id = ANY ($0)").doesNotContain("Seq Scan on jobs");
    }

    @Test
    void askingForCancelRequestsReadsTheirOwnIndexNotEveryRunningJob() {
        // 1,000 jobs run under plan-test; none has a cancel request.
        String plan = genericPlan(MaintenanceQueue.CANCEL_REQUESTED, "'plan-test'");
        assertThat(plan).contains("jobs_cancel_requested_idx").doesNotContain("jobs_running_idx").doesNotContain("Seq Scan");
    }

    private static String explain(String sql) {
        return db.dsl().fetch("explain " + sql).stream().map(r -> r.get(0, String.class))
                .collect(Collectors.joining("\n"));
    }

    /** The plan PostgreSQL makes for {@code sql} without looking at its parameters' values. */
    private static String genericPlan(String sql, String... values) {
        return db.dsl().connectionResult(c -> genericPlan(c, sql, values));
    }

    /** The same on {@code c}, inside whatever transaction it is in. */
    private static String genericPlan(Connection c, String sql, String... values) throws SQLException {
        String statement = sql;
        for (int i = 1; statement.contains("?"); i++) {
            statement = statement.replaceFirst("\\?", "\\$" + i);
        }
        try (Statement s = c.createStatement()) {
            s.execute("set plan_cache_mode = force_generic_plan");
            s.execute("prepare plan_test as " + statement);
            try (ResultSet rs = s.executeQuery("explain execute plan_test(" + String.join(", ", values) + ")")) {
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
    }
}
