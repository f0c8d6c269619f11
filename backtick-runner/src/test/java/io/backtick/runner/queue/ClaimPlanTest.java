package io.backtick.runner.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.backtick.runner.testsupport.QueueSchema;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The producer's claim connection reads the claim index in order from its very first claim, even
 * on a table whose statistics were taken before a bulk insert (here: while it was empty), when a
 * plan made for the bound values would read and sort every available job.
 */
class ClaimPlanTest {

    @RegisterExtension
    static final QueueSchema schema = new QueueSchema(2);

    static QueueDatabase db;

    @BeforeAll
    static void fill() {
        db = schema.db();
        db.dsl().execute("analyze jobs");
        db.dsl().execute("insert into jobs (worker, args) select 'plan', to_jsonb(g) from generate_series(1, 20000) g");
    }

    @Test
    void everyClaimOnTheProducersConnectionReadsTheClaimIndexInOrder() throws Exception {
        String prepared = JobQueue.CLAIM;
        for (int i = 1; prepared.contains("?"); i++) {
            prepared = prepared.replaceFirst("\\?", "\\$" + i);
        }
        try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
            for (String setting : QueueDatabase.CLAIM_SESSION.split(";")) {
                s.execute(setting);
            }
            s.execute("prepare claim_test as " + prepared);
            try {
                // The first executions are the ones PostgreSQL would otherwise plan for their values.
                for (int execution = 1; execution <= 6; execution++) {
                    String plan = explain(s, "explain execute claim_test('{plan}'::text[], 16, 'plan-test')");
                    assertThat(plan).as("plan of execution %d", execution)
                            .contains("Index Scan using jobs_claim_idx").doesNotContain("Sort");
                    s.execute("execute claim_test('{plan}'::text[], 16, 'plan-test')");
                }
            } finally {
                s.execute("deallocate claim_test");
                s.execute("reset plan_cache_mode");
                s.execute("reset synchronous_commit");
            }
        }
    }

    @Test
    void theProducersQueueClaimsInBatchesOnTheStaleTable() {
        List<ClaimedJob> claimed = db.jobsForProducer().claim("plan-test-2", new String[] {"plan"}, 100);
        assertThat(claimed).hasSize(100);
    }

    private static String explain(Statement s, String sql) throws Exception {
        StringBuilder plan = new StringBuilder();
        try (ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                plan.append(rs.getString(1)).append('\n');
            }
        }
        return plan.toString();
    }
}
