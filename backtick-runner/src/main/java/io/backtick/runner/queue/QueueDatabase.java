package io.backtick.runner.queue;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.backtick.runner.config.DatabaseSettings;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;

/**
 * The runner's connection to the queue: a small connection pool whose connections all have the
 * queue's schema as their search path (the generated jOOQ classes are unqualified, so one build
 * serves any schema), the jOOQ context over it, and the migrations.
 *
 * <p>The jOOQ context is made on first use: {@code backtick enqueue} never needs it, and jOOQ's
 * first statement loads about 900 classes, two fifths of that command's time.
 */
public final class QueueDatabase implements AutoCloseable {

    /** Where Flyway finds the migrations of {@code db/}. */
    public static final String MIGRATIONS = "classpath:io/backtick/db/migration";
    static final String HISTORY_TABLE = "backtick_schema_history";

    private final DatabaseSettings settings;
    private final HikariDataSource pool;
    private DSLContext dsl;
    private HikariDataSource claimPool;
    private DSLContext claimDsl;

    private QueueDatabase(DatabaseSettings settings, HikariDataSource pool) {
        this.settings = settings;
        this.pool = pool;
    }

    /**
     * Opens the pool and checks that the database answers.
     *
     * @throws DatabaseUnavailableException when it does not, with the reason in one line
     */
    public static QueueDatabase open(DatabaseSettings settings, int poolSize, String name) {
        return new QueueDatabase(settings, pool(settings, Math.max(2, poolSize), name, null));
    }

    private static HikariDataSource pool(DatabaseSettings settings, int size, String name, String initSql) {
        HikariConfig config = new HikariConfig();
        config.setPoolName(name);
        config.setJdbcUrl(settings.jdbcUrl());
        if (settings.user() != null) {
            config.setUsername(settings.user());
        }
        if (settings.password() != null) {
            config.setPassword(settings.password());
        }
        config.setSchema(settings.schema());
        // Flyway holds one connection for its lock and migrates on another.
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(1);
        config.setConnectionTimeout(5_000);
        config.setValidationTimeout(2_000);
        config.setKeepaliveTime(60_000);
        if (initSql != null) {
            config.setConnectionInitSql(initSql);
        }
        // Fail at once when the database cannot be reached at start: the caller turns it into one line.
        config.setInitializationFailTimeout(1);
        config.addDataSourceProperty("ApplicationName", name);
        config.addDataSourceProperty("tcpKeepAlive", "true");
        try {
            return new HikariDataSource(config);
        } catch (RuntimeException e) {
            throw DatabaseUnavailableException.cannotConnect(settings.describe(), e);
        }
    }

    /** Creates the schema if needed and applies every pending migration. Safe to run from many runners at once. */
    public int migrate() {
        try {
            return flyway().migrate().migrationsExecuted;
        } catch (FlywayException e) {
            throw new DatabaseUnavailableException("cannot migrate the queue schema " + settings.schema() + ": "
                    + DatabaseUnavailableException.reason(e), e);
        }
    }

    /**
     * How many of this build's migrations the queue's schema has not had yet, without changing
     * anything: a runner started with {@code --no-migrate} on a schema an older build set up
     * would run statements that need them.
     */
    public int pendingMigrations() {
        try {
            return flyway().info().pending().length;
        } catch (FlywayException e) {
            throw new DatabaseUnavailableException("cannot read the migrations of the queue schema " + settings.schema()
                    + ": " + DatabaseUnavailableException.reason(e), e);
        }
    }

    private Flyway flyway() {
        return Flyway.configure(getClass().getClassLoader())
                .dataSource(pool)
                .schemas(settings.schema())
                .defaultSchema(settings.schema())
                .createSchemas(true)
                .table(HISTORY_TABLE)
                .locations(MIGRATIONS)
                .load();
    }

    /** Whether the queue's tables exist, without changing anything. */
    public boolean isMigrated() {
        try (Connection c = pool.getConnection();
             var rs = c.getMetaData().getTables(null, settings.schema(), "jobs", null)) {
            return rs.next();
        } catch (SQLException e) {
            throw new DatabaseUnavailableException("cannot reach the database " + settings.describe() + ": "
                    + DatabaseUnavailableException.reason(e), e);
        }
    }

    public JobQueue jobs() {
        return new JobQueue(dsl(), dsl());
    }

    /**
     * Whether any runner has declared a worker of this name: {@link JobQueue#isWorkerDeclared},
     * without making the jOOQ context, for the commands that need nothing else of it.
     */
    public boolean isWorkerDeclared(String name) {
        try (Connection c = pool.getConnection()) {
            return JobQueue.isWorkerDeclared(c, name);
        } catch (SQLException e) {
            throw new DatabaseUnavailableException("cannot reach the database " + settings.describe() + ": "
                    + DatabaseUnavailableException.reason(e), e);
        }
    }

    /**
     * The queue as a runner's producer uses it: claims go through a connection of their own, set
     * up by {@link #CLAIM_SESSION}, and the producer's sweeper reads behind them through a second
     * one ({@link JobQueue#availableBefore}), planned the same way.
     * <ul>
     *   <li>Its commits do not wait for the WAL flush ({@code synchronous_commit = off}). A claim
     *       lost in a PostgreSQL crash leaves its jobs available, as if never claimed, so this
     *       risks no job; it takes a disk flush off every claim, and so off the path from enqueue
     *       to job start. Every other statement, completions included, commits durably.</li>
     *   <li>It plans the claim once, without looking at the bound values
     *       ({@code plan_cache_mode = force_generic_plan}): that plan reads the claim index in
     *       order and stops after the batch whatever the statistics say. Planned for its values
     *       (PostgreSQL's choice for a statement's first executions), a claim on a table whose
     *       statistics predate a bulk insert (a new queue, a table autovacuum has not reached)
     *       reads every available job and sorts them all: 100 ms a claim at 100,000 jobs.</li>
     * </ul>
     */
    public synchronized JobQueue jobsForProducer() {
        if (claimPool == null) {
            claimPool = pool(settings, 2, pool.getPoolName() + "-claims", CLAIM_SESSION);
            claimDsl = DSL.using(claimPool, SQLDialect.POSTGRES, dsl().settings());
        }
        return new JobQueue(dsl(), claimDsl);
    }

    /** How the producer's claim connection is set up: see {@link #jobsForProducer}. */
    static final String CLAIM_SESSION = "set synchronous_commit = off; set plan_cache_mode = force_generic_plan";

    public ScheduleQueue schedules() {
        return new ScheduleQueue(dsl());
    }

    public MaintenanceQueue maintenance() {
        return new MaintenanceQueue(dsl());
    }

    public RunnerRegistry runners() {
        return new RunnerRegistry(dsl());
    }

    public synchronized DSLContext dsl() {
        if (dsl == null) {
            dsl = DSL.using(pool, SQLDialect.POSTGRES, new Settings()
                    .withRenderSchema(false)
                    .withExecuteLogging(false)
                    .withRenderFormatted(false));
        }
        return dsl;
    }

    public DataSource dataSource() {
        return pool;
    }

    public DatabaseSettings settings() {
        return settings;
    }

    @Override
    public synchronized void close() {
        if (claimPool != null) {
            claimPool.close();
        }
        pool.close();
    }
}
