package io.backtick.runner.queue;

import io.backtick.runner.config.ConfigException;
import io.backtick.runner.config.DatabaseSettings;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The schema {@code backtick bench} works in, and the only SQL the bench runs outside the client
 * and the runner. The bench creates the schema itself, marks it with a comment, and drops it at
 * the end; it refuses any schema that exists without that mark, so it can never touch a
 * production queue. One connection, outside every pool, holds a session advisory lock on the
 * schema's name for the whole run, so two benches never share (or drop) one schema; it also
 * serves the bench's own reads (the backlog left, the final counts).
 */
public final class BenchSchema implements AutoCloseable {

    private static final String INSUFFICIENT_PRIVILEGE = "42501";

    /** The comment that marks a schema as the bench's own. */
    public static final String MARK = "backtick bench";

    private final Connection connection;
    private final String schema;
    private final String jobs;
    private boolean dropped;

    private BenchSchema(Connection connection, String schema) {
        this.connection = connection;
        this.schema = schema;
        this.jobs = quoted(schema) + ".jobs";
    }

    /**
     * Takes the schema for a bench: locks its name, drops a leftover bench schema of the same
     * name, and creates it afresh with the mark. The caller then migrates it.
     *
     * @throws ConfigException when the schema exists without the mark, or another bench holds it
     */
    public static BenchSchema create(DatabaseSettings settings) {
        String schema = settings.schema();
        Connection connection = connect(settings);
        try {
            BenchSchema bench = new BenchSchema(connection, schema);
            bench.lock();
            bench.refuseForeign();
            bench.createMarked();
            return bench;
        } catch (SQLException e) {
            closeQuietly(connection);
            throw new DatabaseUnavailableException("cannot prepare the bench schema " + schema + " in "
                    + settings.describe() + ": " + DatabaseUnavailableException.reason(e), e);
        } catch (RuntimeException e) {
            closeQuietly(connection);
            throw e;
        }
    }

    private static Connection connect(DatabaseSettings settings) {
        try {
            return settings.connect("backtick-bench");
        } catch (SQLException e) {
            throw DatabaseUnavailableException.cannotConnect(settings.describe(), e);
        }
    }

    // A session lock, released when this connection closes (also when the process dies), so a
    // bench killed with SIGKILL never leaves a lock behind; the key is derived from the name.
    private void lock() throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("select pg_try_advisory_lock(hashtextextended(?, 0))")) {
            st.setString(1, "backtick bench:" + schema);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    throw new ConfigException("another backtick bench is using schema " + schema
                            + " right now; wait for it, or give this one another --schema");
                }
            }
        }
    }

    private void refuseForeign() throws SQLException {
        String mark;
        boolean hasJobsTable;
        try (PreparedStatement st = connection.prepareStatement(
                "select obj_description(n.oid, 'pg_namespace'), to_regclass(quote_ident(n.nspname) || '.jobs') is not null"
                        + " from pg_namespace n where n.nspname = ?")) {
            st.setString(1, schema);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return;
                }
                mark = rs.getString(1);
                hasJobsTable = rs.getBoolean(2);
            }
        }
        if (MARK.equals(mark)) {
            // A bench that was killed, or ran with --keep, left it: ours to drop.
            execute("drop schema " + quoted(schema) + " cascade");
            return;
        }
        String refusal = "; backtick bench works only in a schema of its own, which it creates and drops, "
                + "so it leaves this one alone: choose another with --schema (default backtick_bench)";
        if (hasJobsTable && holdsJobs()) {
            throw new ConfigException("schema " + schema + " holds jobs that backtick bench did not create" + refusal);
        }
        throw new ConfigException("schema " + schema + " already exists and backtick bench did not create it" + refusal);
    }

    private boolean holdsJobs() throws SQLException {
        try (Statement st = connection.createStatement();
             ResultSet rs = st.executeQuery("select exists (select 1 from " + jobs + ")")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private void createMarked() throws SQLException {
        connection.setAutoCommit(false);
        try {
            execute("create schema " + quoted(schema));
            execute("comment on schema " + quoted(schema) + " is '" + MARK + "'");
            connection.commit();
        } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(true);
        }
    }

    /**
     * Inserts jobs {@code from} to {@code to} (1-based, of {@code total}) of a history of completed
     * jobs, in one statement: one attempt each, finished at times spread evenly over the day before
     * now, as a queue that keeps finished jobs for retention holds them. They carry
     * {@code priority}, which no job the bench runs has.
     */
    public void insertHistory(String worker, int priority, long from, long to, long total) {
        try (PreparedStatement st = connection.prepareStatement("insert into " + jobs
                + " (worker, state, priority, attempt, run_at, created_at, attempted_at, finalized_at, runner_id)"
                + " select ?, 'completed', ?, 1, t, t, t, t, 'bench-history'"
                + " from (select now() - interval '1 day' * ((? - g)::float8 / ?) as t from generate_series(?::bigint, ?::bigint) g) h")) {
            st.setString(1, worker);
            st.setInt(2, priority);
            st.setLong(3, total);
            st.setLong(4, total);
            st.setLong(5, from);
            st.setLong(6, to);
            st.execute();
        } catch (SQLException e) {
            throw unavailable("insert the history of completed jobs", e);
        }
    }

    /**
     * Vacuums the jobs table and refreshes its statistics, as autovacuum would after a large insert
     * and the warm-up's churn: the timed runner then meets a tended table, rather than vacuuming
     * the warm-up's dead rows itself in the middle of the timed run.
     */
    public void analyze() {
        run("vacuum (analyze) " + jobs);
    }

    /**
     * Writes every dirty page out now ({@code CHECKPOINT}), so the timed run starts right after a
     * checkpoint rather than meeting one that the enqueue's WAL set off: a checkpoint that starts
     * inside a one-second run writes pages alongside it and makes the run's first change of every
     * page write a full page image to the WAL. False, and nothing done, when the user may not
     * (PostgreSQL 15 and later: superusers and members of {@code pg_checkpoint}; before: superusers).
     */
    public boolean checkpoint() {
        try {
            execute("checkpoint");
            return true;
        } catch (SQLException e) {
            if (INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
                return false;
            }
            throw unavailable("checkpoint", e);
        }
    }

    /**
     * Whether any job of {@code priority} has not yet reached an end state. Asked every few
     * milliseconds at the end of a run, so it must stay cheap on a busy box: each part reads one
     * partial index (claim, running, due) and stops at the first row. The available part is a
     * scalar subquery ordered as the claim index: an EXISTS would drop the order and, with
     * statistics taken while every job was available, the planner would scan the whole table.
     */
    public boolean anyUnfinished(int priority) {
        return count("select ((select id from " + jobs + " where state = 'available' and priority = " + priority
                + " order by priority desc, run_at, id limit 1) is not null"
                + " or exists (select 1 from " + jobs + " where state = 'running' and runner_id is not null and priority = " + priority + ")"
                + " or exists (select 1 from " + jobs + " where state in ('scheduled', 'retryable') and priority = "
                + priority + "))::int") > 0;
    }

    /** How many jobs of {@code priority} are completed (read once at the end: a full scan). */
    public long completed(int priority) {
        return count("select count(*) from " + jobs + " where state = 'completed' and priority = " + priority);
    }

    /** The server's version, for the report. */
    public String serverVersion() {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery("show server_version")) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            throw unavailable("read the server version", e);
        }
    }

    /**
     * Drops the schema and everything in it, if it still carries the mark. Safe to call twice.
     *
     * @return whether the schema is gone
     */
    public synchronized boolean drop() {
        if (dropped) {
            return true;
        }
        try (PreparedStatement st = connection.prepareStatement(
                "select obj_description(n.oid, 'pg_namespace') from pg_namespace n where n.nspname = ?")) {
            st.setString(1, schema);
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next() && !MARK.equals(rs.getString(1))) {
                    return false;
                }
            }
            dropSchemaCancellingHolders();
            dropped = true;
            return true;
        } catch (SQLException e) {
            throw unavailable("drop the bench schema", e);
        }
    }

    /**
     * Drops the schema. The drop needs an exclusive lock on every table in it; a statement the
     * runner left running when its pool was closed under it (Ctrl-C during a slow write) keeps
     * its lock until it ends, so after a short wait the sessions holding locks in this schema,
     * which only this bench uses, have their statements cancelled, and the drop is tried again.
     */
    private void dropSchemaCancellingHolders() throws SQLException {
        execute("set lock_timeout = '5s'");
        try {
            for (int attempt = 1; ; attempt++) {
                try {
                    execute("drop schema if exists " + quoted(schema) + " cascade");
                    return;
                } catch (SQLException e) {
                    if (!"55P03".equals(e.getSQLState()) || attempt == 3) {
                        throw e;
                    }
                }
                try (PreparedStatement st = connection.prepareStatement(
                        "select pg_cancel_backend(l.pid) from pg_locks l"
                                + " join pg_class c on c.oid = l.relation join pg_namespace n on n.oid = c.relnamespace"
                                + " where n.nspname = ? and l.pid <> pg_backend_pid()")) {
                    st.setString(1, schema);
                    st.execute();
                }
            }
        } finally {
            execute("reset lock_timeout");
        }
    }

    public String name() {
        return schema;
    }

    /** Releases the lock and the connection. */
    @Override
    public void close() {
        closeQuietly(connection);
    }

    private long count(String sql) {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw unavailable("count the bench jobs", e);
        }
    }

    private void run(String sql) {
        try {
            execute(sql);
        } catch (SQLException e) {
            throw unavailable(sql, e);
        }
    }

    private void execute(String sql) throws SQLException {
        try (Statement st = connection.createStatement()) {
            st.execute(sql);
        }
    }

    private DatabaseUnavailableException unavailable(String what, SQLException e) {
        return new DatabaseUnavailableException("cannot " + what + " in schema " + schema + ": "
                + DatabaseUnavailableException.reason(e), e);
    }

    /** The name is a checked plain identifier ({@code QueueSchema.require}), so quoting it is enough. */
    private static String quoted(String schema) {
        return '"' + schema + '"';
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (SQLException e) {
            // closing; the server ends the session (and its lock) either way
        }
    }
}
