package io.backtick.api;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Many jobs in one {@code COPY}, on connections of the PostgreSQL JDBC driver: the rows stream to
 * the server while later ones are still being written, and the server stores them in batches, so
 * a bulk enqueue costs little more than the database's own insert.
 *
 * <p>COPY cannot return ids nor look up a worker's declared defaults, so one query first takes the
 * ids from the table's sequence, reads the defaults of the workers named, and reads the
 * transaction's {@code now()}; the rows then carry every value the single-row insert would have
 * computed: the same defaults, the same due time and state, in COPY's binary format, so the
 * server parses no text. The driver's COPY API is reached by
 * reflection: this module is compiled without the driver, and on any other driver
 * {@link #open} returns null and the client inserts as usual.
 */
final class CopyInsert {

    private static final int FLUSH_BYTES = 1 << 16;


    private final Object copyManager;
    private final Method copyIn;

    private CopyInsert(Object copyManager, Method copyIn) {
        this.copyManager = copyManager;
        this.copyIn = copyIn;
    }

    /** The COPY path for this connection, or null when it is not the PostgreSQL JDBC driver's. */
    static CopyInsert open(Connection connection) {
        for (ClassLoader loader : new ClassLoader[] {connection.getClass().getClassLoader(),
                CopyInsert.class.getClassLoader(), Thread.currentThread().getContextClassLoader()}) {
            try {
                Class<?> pgConnection = Class.forName("org.postgresql.PGConnection", false, loader);
                if (!connection.isWrapperFor(pgConnection)) {
                    return null;
                }
                Object pg = connection.unwrap(pgConnection);
                Object manager = pgConnection.getMethod("getCopyAPI").invoke(pg);
                return new CopyInsert(manager, manager.getClass().getMethod("copyIn", String.class));
            } catch (ClassNotFoundException | LinkageError e) {
                // not visible from this loader: try the next
            } catch (ReflectiveOperationException | SQLException | RuntimeException e) {
                return null;
            }
        }
        return null;
    }

    /** Inserts {@code requests} into {@code schema}'s jobs table; returns their ids in order. */
    List<Long> insert(Connection connection, String schema, List<JobRequest> requests) throws SQLException {
        String q = '"' + schema + '"';
        Set<String> names = new LinkedHashSet<>();
        for (JobRequest r : requests) {
            names.add(r.worker());
        }
        long[] ids = new long[requests.size()];
        Instant now;
        Map<String, Defaults> declared = new HashMap<>();
        try (PreparedStatement prepare = connection.prepareStatement(
                "select (select array_agg(nextval((select pg_get_serial_sequence('" + q + ".jobs', 'id'))::regclass))\n"
                        + "          from generate_series(1, ?)), now(), w.name, w.queue, w.priority, w.max_attempts\n"
                        + "from (select 1) one left join " + q + ".workers w on w.name = any(?)")) {
            prepare.setInt(1, requests.size());
            prepare.setArray(2, connection.createArrayOf("text", names.toArray()));
            try (ResultSet rs = prepare.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("the id query returned no row");
                }
                Object[] taken = (Object[]) rs.getArray(1).getArray();
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = ((Number) taken[i]).longValue();
                }
                now = rs.getObject(2, OffsetDateTime.class).toInstant();
                do {
                    if (rs.getString(3) != null) {
                        declared.put(rs.getString(3), new Defaults(rs.getString(4), rs.getInt(5), rs.getInt(6)));
                    }
                } while (rs.next());
            }
        }
        copy(connection, "copy " + q + ".jobs (id, worker, args, queue, priority, max_attempts, run_at, state) "
                + "from stdin with (format binary)", requests, ids, now, declared);
        List<Long> result = new ArrayList<>(ids.length);
        for (long id : ids) {
            result.add(id);
        }
        return result;
    }

    private void copy(Connection connection, String sql, List<JobRequest> requests, long[] ids, Instant now,
                      Map<String, Defaults> declared) throws SQLException {
        Object in = invoke(copyIn, copyManager, sql);
        boolean ended = false;
        try {
            Method write = in.getClass().getMethod("writeToCopy", byte[].class, int.class, int.class);
            Rows rows = new Rows(FLUSH_BYTES + 4096);
            rows.header();
            for (int i = 0; i < requests.size(); i++) {
                JobRequest r = requests.get(i);
                Defaults d = declared.getOrDefault(r.worker(), Defaults.NONE);
                Instant due = r.runAt() != null ? r.runAt()
                        : r.delay() != null ? now.plusMillis(r.delay().toMillis())
                        : now;
                rows.fields(8);
                rows.int8(ids[i]);
                rows.text(r.worker());
                rows.jsonb(r.argsJson());
                rows.text(r.queue() != null ? r.queue() : d.queue());
                rows.int4(r.priority() != null ? r.priority() : d.priority());
                rows.int4(r.maxAttempts() != null ? r.maxAttempts() : d.maxAttempts());
                rows.timestamptz(due);
                rows.text(due.isAfter(now) ? "scheduled" : "available");
                if (rows.size() >= FLUSH_BYTES) {
                    invoke(write, in, rows.bytes(), 0, rows.size());
                    rows.clear();
                }
            }
            rows.trailer();
            invoke(write, in, rows.bytes(), 0, rows.size());
            invoke(in.getClass().getMethod("endCopy"), in);
            ended = true;
        } catch (NoSuchMethodException e) {
            throw new SQLException("the PostgreSQL driver's COPY API is not as expected: " + e.getMessage(), e);
        } finally {
            if (!ended) {
                try {
                    if ((Boolean) in.getClass().getMethod("isActive").invoke(in)) {
                        in.getClass().getMethod("cancelCopy").invoke(in);
                    }
                } catch (ReflectiveOperationException | RuntimeException e) {
                    // the first failure is the one to report
                }
            }
        }
    }

    /**
     * Rows in COPY's binary format: no text for the server to parse, numbers and times as they are
     * stored. Each field is its length and its bytes; jsonb is a version byte and the JSON text; an
     * enum is its label.
     */
    private static final class Rows {
        private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0};
        /** 2000-01-01T00:00:00Z, PostgreSQL's epoch, in seconds from Java's. */
        private static final long POSTGRES_EPOCH_SECONDS = 946_684_800L;

        private byte[] buffer;
        private int size;

        Rows(int capacity) {
            buffer = new byte[capacity];
        }

        void header() {
            put(SIGNATURE);
            putInt(0); // flags
            putInt(0); // header extension length
        }

        void trailer() {
            putShort(-1);
        }

        void fields(int count) {
            putShort(count);
        }

        void int8(long value) {
            putInt(8);
            putLong(value);
        }

        void int4(int value) {
            putInt(4);
            putInt(value);
        }

        void timestamptz(Instant t) {
            putInt(8);
            putLong((t.getEpochSecond() - POSTGRES_EPOCH_SECONDS) * 1_000_000L + t.getNano() / 1_000);
        }

        void text(String value) {
            byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
            putInt(utf8.length);
            put(utf8);
        }

        void jsonb(String json) {
            byte[] utf8 = json.getBytes(StandardCharsets.UTF_8);
            putInt(utf8.length + 1);
            ensure(1);
            buffer[size++] = 1; // jsonb's binary format version
            put(utf8);
        }

        byte[] bytes() {
            return buffer;
        }

        int size() {
            return size;
        }

        void clear() {
            size = 0;
        }

        private void put(byte[] bytes) {
            ensure(bytes.length);
            System.arraycopy(bytes, 0, buffer, size, bytes.length);
            size += bytes.length;
        }

        private void putShort(int v) {
            ensure(2);
            buffer[size++] = (byte) (v >>> 8);
            buffer[size++] = (byte) v;
        }

        private void putInt(int v) {
            ensure(4);
            for (int shift = 24; shift >= 0; shift -= 8) {
                buffer[size++] = (byte) (v >>> shift);
            }
        }

        private void putLong(long v) {
            ensure(8);
            for (int shift = 56; shift >= 0; shift -= 8) {
                buffer[size++] = (byte) (v >>> shift);
            }
        }

        private void ensure(int more) {
            if (size + more > buffer.length) {
                buffer = java.util.Arrays.copyOf(buffer, Math.max(buffer.length * 2, size + more));
            }
        }
    }

    private static Object invoke(Method method, Object target, Object... args) throws SQLException {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new SQLException("COPY failed: " + e.getCause(), e.getCause());
        } catch (IllegalAccessException e) {
            throw new SQLException("the PostgreSQL driver's COPY API cannot be called: " + e.getMessage(), e);
        }
    }

    /** A worker's declared defaults, or the built-in ones for a worker no runner has declared. */
    private record Defaults(String queue, int priority, int maxAttempts) {
        static final Defaults NONE = new Defaults(WorkerOptions.DEFAULT_QUEUE, WorkerOptions.DEFAULT_PRIORITY,
                WorkerOptions.DEFAULT_MAX_ATTEMPTS);
    }
}
