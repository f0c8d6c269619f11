package io.backtick.api;

import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * Puts jobs on the queue from an application. Needs only this module and the PostgreSQL JDBC
 * driver. Thread-safe; create one and share it.
 *
 * <pre>{@code
 * BacktickClient backtick = BacktickClient.create(dataSource);
 * backtick.schedule("log-sum", 3, 4);                                  // runs as soon as a runner is free
 * backtick.scheduleIn(Duration.ofMinutes(10), "send-reminder", userId); // runs in ten minutes
 * try (Connection tx = dataSource.getConnection()) {                   // commits with your data, or not at all
 *     tx.setAutoCommit(false);
 *     insertOrder(tx, order);
 *     backtick.schedule(tx, "send-receipt", order.id());
 *     tx.commit();
 * }
 * }</pre>
 *
 * <p>Every call that enqueues one job is one round trip. Many jobs in one call go in one
 * transaction: with {@code COPY} from {@value #COPY_AT_LEAST} on (a query for their ids, the COPY,
 * the commit), else as multi-row inserts; a job with a key ({@link JobRequest#withKey}) goes in by a
 * statement of its own, which answers with the id of the job holding the key if one does (a second
 * round trip looks that id up). A job that names a worker no runner has declared yet is still
 * stored; it takes the defaults queue {@code default}, priority 0 and 16 attempts, and waits until
 * a runner that serves the worker claims it.
 */
public final class BacktickClient {

    /** Rows written by one statement when enqueueing many; larger lists take several. */
    private static final int CHUNK = 5_000;
    /** From this many jobs in one call, they are written with COPY where the driver allows. */
    static final int COPY_AT_LEAST = 500;
    /** Rows written by one COPY. */
    private static final int COPY_CHUNK = 10_000;
    /** The states in which a job holds its key: those of {@code jobs_unique_key} (V13__unique_keys.sql). */
    private static final String KEY_HELD = "state in ('scheduled', 'available', 'running', 'retryable')";
    /** How often an enqueue tries again when the job holding its key ended between its insert and its look-up. */
    private static final int KEY_TRIES = 10;

    private final ConnectionSource connections;
    private final String schema;
    private final String insertSql;
    /** {@link #insertSql} for one keyed job: it inserts nothing where a job that has not ended holds the key. */
    private final String keyedInsertSql;
    /** The id of the job that has not ended and holds a worker's key. */
    private final String keyHolderSql;

    /** Supplies connections; a {@link DataSource} is one. */
    @FunctionalInterface
    public interface ConnectionSource {
        Connection getConnection() throws SQLException;
    }

    private BacktickClient(ConnectionSource connections, String schema) {
        this.connections = connections;
        this.schema = QueueSchema.require(schema);
        this.insertSql = insertSql(this.schema, false);
        this.keyedInsertSql = insertSql(this.schema, true);
        this.keyHolderSql = "select id from \"" + this.schema + "\".jobs where worker = ? and unique_key = ? and "
                + KEY_HELD;
    }

    /** A client that takes connections from the application's data source, on schema {@code backtick}. */
    public static BacktickClient create(DataSource dataSource) {
        Objects.requireNonNull(dataSource, "dataSource");
        return new BacktickClient(dataSource::getConnection, QueueSchema.DEFAULT);
    }

    /**
     * A client that opens a connection per call with {@link DriverManager}: simple, and fine for
     * scripts and tools; applications should pass their pooled {@link DataSource}.
     */
    public static BacktickClient create(String jdbcUrl, String user, String password) {
        Objects.requireNonNull(jdbcUrl, "jdbcUrl");
        return new BacktickClient(() -> DriverManager.getConnection(jdbcUrl, user, password), QueueSchema.DEFAULT);
    }

    /** The same client, on the queue in another schema. */
    public BacktickClient withSchema(String schema) {
        return new BacktickClient(connections, schema);
    }

    public String schema() {
        return schema;
    }

    /** Enqueues a job to run as soon as possible; returns its id. */
    public long schedule(String worker, Object... args) {
        return enqueue(JobRequest.of(worker, args));
    }

    /** Enqueues a job to run no earlier than {@code time}; returns its id. */
    public long scheduleAt(Instant time, String worker, Object... args) {
        return enqueue(JobRequest.of(worker, args).at(time));
    }

    /** Enqueues a job to run no earlier than {@code delay} from now, by the database's clock. */
    public long scheduleIn(Duration delay, String worker, Object... args) {
        return enqueue(JobRequest.of(worker, args).in(delay));
    }

    /**
     * Enqueues a job inside the caller's transaction: it becomes visible to runners when the
     * caller commits, and vanishes if the caller rolls back. The connection is left open.
     */
    public long schedule(Connection transaction, String worker, Object... args) {
        return enqueue(transaction, JobRequest.of(worker, args));
    }

    public long enqueue(JobRequest request) {
        return enqueueAll(List.of(request)).get(0);
    }

    public long enqueue(Connection transaction, JobRequest request) {
        return enqueueAll(transaction, List.of(request)).get(0);
    }

    /**
     * Enqueues many jobs in one transaction; returns their ids in order. From {@value #COPY_AT_LEAST}
     * jobs on, on the PostgreSQL driver, they go in with {@code COPY} (see {@link CopyInsert}); fewer
     * go in one multi-row insert per few thousand.
     */
    public List<Long> enqueueAll(Collection<JobRequest> requests) {
        List<JobRequest> all = List.copyOf(requests);
        try (Connection connection = connections.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            if (!autoCommit || (all.size() < COPY_AT_LEAST && all.size() <= CHUNK)) {
                return insert(connection, all);
            }
            connection.setAutoCommit(false);
            try {
                List<Long> ids = insert(connection, all);
                connection.commit();
                return ids;
            } catch (SQLException | RuntimeException | Error e) {
                connection.rollback();
                throw e;
            } finally {
                connection.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    /** Enqueues many jobs inside the caller's transaction; returns their ids in order. */
    public List<Long> enqueueAll(Connection transaction, Collection<JobRequest> requests) {
        Objects.requireNonNull(transaction, "transaction");
        try {
            return insert(transaction, List.copyOf(requests));
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    private List<Long> insert(Connection connection, List<JobRequest> all) throws SQLException {
        if (all.stream().anyMatch(r -> r.key() != null)) {
            return insertWithKeys(connection, all);
        }
        CopyInsert copy = all.size() >= COPY_AT_LEAST ? CopyInsert.open(connection) : null;
        List<Long> ids = new ArrayList<>(all.size());
        int chunkSize = copy == null ? CHUNK : COPY_CHUNK;
        for (int from = 0; from < all.size(); from += chunkSize) {
            List<JobRequest> chunk = all.subList(from, Math.min(all.size(), from + chunkSize));
            if (copy != null) {
                ids.addAll(copy.insert(connection, schema, chunk));
            } else {
                insertChunk(connection, chunk, ids, insertSql);
            }
        }
        return ids;
    }

    /**
     * Requests some of which carry keys ({@link JobRequest#withKey}): runs of keyless ones in
     * multi-row inserts as usual, each keyed one in a statement of its own, so that the id it
     * answers with (its own, or that of the job holding its key) stays in its place.
     */
    private List<Long> insertWithKeys(Connection connection, List<JobRequest> all) throws SQLException {
        List<Long> ids = new ArrayList<>(all.size());
        int from = 0;
        while (from < all.size()) {
            if (all.get(from).key() != null) {
                ids.add(insertOrFindKeyHolder(connection, all.get(from)));
                from++;
                continue;
            }
            int to = from;
            while (to < all.size() && to - from < CHUNK && all.get(to).key() == null) {
                to++;
            }
            insertChunk(connection, all.subList(from, to), ids, insertSql);
            from = to;
        }
        return ids;
    }

    /**
     * Inserts a keyed job, or finds the job that has not ended and holds its key. The insert waits
     * for a transaction that is inserting the same key and inserts nothing once that commits; the
     * select that follows (in a fresh snapshot, at read committed) then sees the holder. If the
     * holder ended between the two statements, the key is free and the insert is tried again.
     */
    private long insertOrFindKeyHolder(Connection connection, JobRequest request) throws SQLException {
        for (int attempt = 0; attempt < KEY_TRIES; attempt++) {
            List<Long> inserted = new ArrayList<>(1);
            insertChunk(connection, List.of(request), inserted, keyedInsertSql);
            if (!inserted.isEmpty()) {
                return inserted.get(0);
            }
            try (PreparedStatement find = connection.prepareStatement(keyHolderSql)) {
                find.setString(1, request.worker());
                find.setString(2, request.key());
                try (ResultSet rs = find.executeQuery()) {
                    if (rs.next()) {
                        return rs.getLong(1);
                    }
                }
            }
        }
        throw new BacktickException("could not enqueue " + request + ": the job holding its key ended as often as "
                + KEY_TRIES + " times while this enqueue looked for it", null);
    }

    private void insertChunk(Connection connection, List<JobRequest> chunk, List<Long> ids, String sql) throws SQLException {
        int n = chunk.size();
        String[] workers = new String[n];
        String[] args = new String[n];
        String[] queues = new String[n];
        Integer[] priorities = new Integer[n];
        Integer[] maxAttempts = new Integer[n];
        String[] runAts = new String[n];
        Long[] delays = new Long[n];
        String[] keys = new String[n];
        for (int i = 0; i < n; i++) {
            JobRequest r = chunk.get(i);
            workers[i] = r.worker();
            args[i] = r.argsJson();
            queues[i] = r.queue();
            priorities[i] = r.priority();
            maxAttempts[i] = r.maxAttempts();
            runAts[i] = r.runAt() == null ? null : r.runAt().toString();
            delays[i] = r.delay() == null ? null : r.delay().toMillis();
            keys[i] = r.key();
        }
        try (PreparedStatement insert = connection.prepareStatement(sql)) {
            Array[] arrays = {
                connection.createArrayOf("text", workers),
                connection.createArrayOf("text", args),
                connection.createArrayOf("text", queues),
                connection.createArrayOf("int4", priorities),
                connection.createArrayOf("int4", maxAttempts),
                connection.createArrayOf("text", runAts),
                connection.createArrayOf("int8", delays),
                connection.createArrayOf("text", keys),
            };
            for (int i = 0; i < arrays.length; i++) {
                insert.setArray(i + 1, arrays[i]);
            }
            try (ResultSet rs = insert.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getLong(1));
                }
            }
        }
    }

    /**
     * One statement for one job or thousands: the arguments arrive as parallel arrays, and the
     * worker's declared defaults fill what the request leaves open. A job due now is available at
     * once; one due later is scheduled, and the stager makes it available when its time comes.
     */
    private static String insertSql(String schema, boolean keyed) {
        String q = '"' + schema + '"';
        return "insert into " + q + ".jobs (worker, args, queue, priority, max_attempts, run_at, state, unique_key)\n"
                + "select t.worker, t.args::jsonb,\n"
                + "       coalesce(t.queue, w.queue, '" + WorkerOptions.DEFAULT_QUEUE + "'),\n"
                + "       coalesce(t.priority, w.priority, " + WorkerOptions.DEFAULT_PRIORITY + "),\n"
                + "       coalesce(t.max_attempts, w.max_attempts, " + WorkerOptions.DEFAULT_MAX_ATTEMPTS + "),\n"
                + "       t.due,\n"
                + "       (case when t.due > now() then 'scheduled' else 'available' end)::" + q + ".job_state,\n"
                + "       t.unique_key\n"
                + "from (select u.*, coalesce(u.run_at::timestamptz, now() + u.delay_ms * interval '1 millisecond', now()) as due\n"
                + "        from unnest(?::text[], ?::text[], ?::text[], ?::int4[], ?::int4[], ?::text[], ?::int8[], ?::text[])\n"
                + "             with ordinality as u(worker, args, queue, priority, max_attempts, run_at, delay_ms, unique_key, ord)) t\n"
                + "left join " + q + ".workers w on w.name = t.worker\n"
                + "order by t.ord\n"
                + (keyed ? "on conflict (worker, unique_key) where unique_key is not null and " + KEY_HELD + " do nothing\n" : "")
                + "returning id";
    }

    private BacktickException failure(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String message;
        if (state.equals("42P01") || state.equals("3F000") || state.equals("42704")) {
            message = "the queue is not set up in schema '" + schema + "': run 'backtick migrate' (or start a runner) first";
        } else if (state.equals("22P02") || state.equals("22P05") || state.equals("22032")) {
            message = "job arguments are not valid JSON for PostgreSQL: " + firstLine(e.getMessage());
        } else if (state.startsWith("08")) {
            message = "cannot reach the queue's database: " + firstLine(e.getMessage());
        } else {
            message = "could not enqueue: " + firstLine(e.getMessage());
        }
        return new BacktickException(message, e);
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
