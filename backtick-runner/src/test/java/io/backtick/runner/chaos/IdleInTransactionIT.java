package io.backtick.runner.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.backtick.runner.testsupport.RunnerProcess;
import io.backtick.runner.testsupport.ThrowawayPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * idle_in_transaction: while two runners work through a steady backlog, another session opens a
 * transaction, takes a transaction id and sits idle in it (a minute in the long variant, 8 s in the
 * normal build). Vacuum cannot remove the row versions the queue leaves behind while it is open,
 * so claiming wades through more dead tuples. Throughput is measured before, during and after;
 * the drop is documented in docs/chaos.md, and the test asserts only that work goes on during the
 * hold, recovers after it, and that nothing is lost or run twice.
 */
class IdleInTransactionIT {

    private static final int BACKLOG = 5_000;

    @TempDir
    Path dir;

    @Test
    void aSessionIdleInTransactionSlowsTheQueueButLosesNothingAndThroughputRecovers() throws Exception {
        assumeTrue(ThrowawayPostgres.available(), "no PostgreSQL binaries in " + ThrowawayPostgres.BIN);
        Duration window = Duration.ofSeconds(ChaosRun.scale(4, 15));
        Duration hold = Duration.ofSeconds(ChaosRun.scale(8, 60));
        try (ThrowawayPostgres postgres = ThrowawayPostgres.start("max_connections=100");
             ChaosRun run = ChaosRun.on(postgres, "idle_in_transaction", dir)) {
            List<RunnerProcess> runners = run.startRunners(2, "idle", "--threads", "8");
            run.startFeeding(BACKLOG, 2);
            // Warm up (the runners' JIT, the pools) before measuring.
            run.awaitExecutions(2 * BACKLOG, Duration.ofSeconds(120));

            // The phases are measuring windows of fixed length (pacing, not synchronisation).
            Timestamp t0 = now(run);
            Thread.sleep(window.toMillis());
            Timestamp t1 = now(run);
            long deadBefore = deadTuples(run);
            try (Connection idle = run.connect()) {
                idle.setAutoCommit(false);
                try (Statement st = idle.createStatement()) {
                    st.execute("select txid_current()");
                }
                Thread.sleep(hold.toMillis());
                idle.rollback();
            }
            Timestamp t2 = now(run);
            long deadDuring = deadTuples(run);
            Thread.sleep(window.toMillis());
            Timestamp t3 = now(run);
            long jobs = run.stopFeeding();

            double before = rate(run, t0, t1);
            double during = rate(run, t1, t2);
            double after = rate(run, t2, t3);
            System.out.printf("chaos idle_in_transaction: jobs/s before %.0f, during a %d s idle transaction %.0f (%.0f%%),"
                            + " after %.0f (%.0f%%); dead tuples in jobs %d before, %d at the end of the hold%n",
                    before, hold.toSeconds(), during, 100 * during / before, after, 100 * after / before, deadBefore, deadDuring);

            run.awaitAllFinished(jobs, Duration.ofSeconds(300));
            ChaosRun.Report report = run.verify(jobs);
            assertThat(report.ranMoreThanOnce()).isZero();
            assertThat(during).as("jobs/s while the transaction is held open").isPositive();
            assertThat(after).as("jobs/s after it ends, against %.0f before", before).isGreaterThanOrEqualTo(before * 0.5);
            assertThat(runners).allMatch(RunnerProcess::isAlive);
        }
    }

    private static Timestamp now(ChaosRun run) {
        return run.query(c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("select clock_timestamp()")) {
                rs.next();
                return rs.getTimestamp(1);
            }
        });
    }

    private static long deadTuples(ChaosRun run) {
        return run.count("select coalesce(sum(n_dead_tup), 0) from pg_stat_user_tables where relname = 'jobs'");
    }

    /** Executions per second between {@code from} and {@code to}, by the database's clock. */
    private static double rate(ChaosRun run, Timestamp from, Timestamp to) {
        long n = run.query(c -> {
            try (var st = c.prepareStatement("select count(*) from " + run.recordTable() + " where at >= ? and at < ?")) {
                st.setTimestamp(1, from);
                st.setTimestamp(2, to);
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
        return n / ((to.getTime() - from.getTime()) / 1000.0);
    }
}
