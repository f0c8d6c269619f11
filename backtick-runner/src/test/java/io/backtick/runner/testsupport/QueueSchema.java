package io.backtick.runner.testsupport;

import io.backtick.api.BacktickClient;
import io.backtick.runner.queue.QueueDatabase;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A migrated queue in a schema of the test class's own, opened before its first test and dropped
 * after its last, whether the tests passed or not. Test classes share one PostgreSQL server, so
 * each works in a schema of its own, never sees another's jobs and leaves nothing behind; the
 * queue's schema name is configurable for exactly this.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final QueueSchema schema = new QueueSchema(8);
 * }</pre>
 *
 * <p>JUnit calls a static extension's {@code beforeAll} before the class's own {@code @BeforeAll}
 * methods, and its {@code afterAll} after the class's {@code @AfterAll} methods, so those may use
 * {@link #db()} to fill the queue or to stop runners that still hold its connections.
 */
public final class QueueSchema implements BeforeAllCallback, AfterAllCallback {

    private final int poolSize;
    private QueueDatabase db;
    private BacktickClient client;

    /** A queue whose pool has {@code poolSize} connections: as many as the class's tests use at once. */
    public QueueSchema(int poolSize) {
        this.poolSize = poolSize;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        db = TestDatabase.newQueue(context.getRequiredTestClass(), poolSize);
        client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (db == null) {
            return; // the queue never opened; beforeAll reported why
        }
        try {
            db.close();
        } finally {
            TestDatabase.dropSchema(db.settings().schema());
        }
    }

    /** The queue's database: its pool, jOOQ context and repositories. */
    public QueueDatabase db() {
        return db;
    }

    /** The client applications enqueue with, pointed at this class's schema. */
    public BacktickClient client() {
        return client;
    }
}
