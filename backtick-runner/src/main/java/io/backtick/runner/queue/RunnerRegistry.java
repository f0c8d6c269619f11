package io.backtick.runner.queue;

import static io.backtick.jooq.Tables.RUNNERS;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.impl.DSL;

/** The runners table: who is alive, what each serves. */
public final class RunnerRegistry {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final DSLContext dsl;

    RunnerRegistry(DSLContext dsl) {
        this.dsl = dsl;
    }

    /**
     * A runner's identity: its id, which the jobs it holds carry, and the {@code instance} token of
     * the process behind it, made when that process starts, so two live processes given one id are
     * told apart.
     */
    public record RunnerInfo(String id, String instance, String host, long pid, String version, List<String> workers) {
    }

    /**
     * Who holds a runner id's row: the process's token (null for a runner older than migration
     * V12), where it runs, when it last beat, and how long ago that was by the database's clock.
     */
    public record Holder(String instance, String host, long pid, OffsetDateTime heartbeatAt, Duration silentFor) {
    }

    /** How long ago, in milliseconds by the database's clock, a runner last beat. */
    private static final String SILENT_MILLIS = "(extract(epoch from now() - heartbeat_at) * 1000)::bigint";

    /** The row of runner id {@code runnerId}, if there is one. */
    public Optional<Holder> holder(String runnerId) {
        return dsl.select(RUNNERS.INSTANCE, RUNNERS.HOST, RUNNERS.PID, RUNNERS.HEARTBEAT_AT, DSL.field(SILENT_MILLIS, Long.class))
                .from(RUNNERS)
                .where(RUNNERS.ID.eq(runnerId))
                .fetchOptional(r -> new Holder(r.value1(), r.value2(), r.value3(), r.value4(),
                        Duration.ofMillis(Math.max(0, r.value5()))));
    }

    /** What a heartbeat found. */
    public sealed interface Beat {
        /** The row was this process's, and now says it is alive. */
        record Kept() implements Beat {
        }

        /** There was no row (never written, forgotten, or deleted by a process that stopped). */
        record Gone() implements Beat {
        }

        /** Another process holds the row now. */
        record Taken(Holder by) implements Beat {
        }
    }

    /**
     * Records this runner process as the holder of its id and alive now, if no row holds the id;
     * returns false, writing nothing, if one does ({@link #takeOver} takes a row over).
     */
    public boolean register(RunnerInfo runner) {
        JSONB workers = workersJson(runner);
        return dsl.insertInto(RUNNERS, RUNNERS.ID, RUNNERS.INSTANCE, RUNNERS.HOST, RUNNERS.PID, RUNNERS.VERSION, RUNNERS.WORKERS)
                .values(runner.id(), runner.instance(), runner.host(), runner.pid(), runner.version(), workers)
                .onConflictDoNothing()
                .execute() == 1;
    }

    /**
     * Makes this runner process the holder of its id's row, in place of the one {@code seen}
     * describes, and alive now: a compare-and-set on the row as it was seen, so a process that
     * beat or took the row since keeps it (false, nothing written).
     */
    public boolean takeOver(RunnerInfo runner, Holder seen) {
        return dsl.update(RUNNERS)
                .set(RUNNERS.INSTANCE, runner.instance())
                .set(RUNNERS.HOST, runner.host())
                .set(RUNNERS.PID, runner.pid())
                .set(RUNNERS.VERSION, runner.version())
                .set(RUNNERS.WORKERS, workersJson(runner))
                .set(RUNNERS.STARTED_AT, DSL.currentOffsetDateTime())
                .set(RUNNERS.HEARTBEAT_AT, DSL.currentOffsetDateTime())
                .where(RUNNERS.ID.eq(runner.id())
                        .and(RUNNERS.HEARTBEAT_AT.eq(seen.heartbeatAt()))
                        .and(RUNNERS.INSTANCE.isNotDistinctFrom(seen.instance())))
                .execute() == 1;
    }

    private static JSONB workersJson(RunnerInfo runner) {
        try {
            return JSONB.valueOf(JSON.writeValueAsString(runner.workers()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Refreshes the heartbeat of this runner process's row. Only a row that still carries this
     * process's token is touched: a row another process took over is left to it and reported.
     */
    public Beat heartbeat(RunnerInfo runner) {
        int kept = dsl.update(RUNNERS).set(RUNNERS.HEARTBEAT_AT, DSL.currentOffsetDateTime())
                .where(RUNNERS.ID.eq(runner.id()).and(RUNNERS.INSTANCE.eq(runner.instance())))
                .execute();
        if (kept == 1) {
            return new Beat.Kept();
        }
        return holder(runner.id()).<Beat>map(Beat.Taken::new).orElseGet(Beat.Gone::new);
    }

    /** Deletes this runner process's row; a row another process holds now stays. */
    public void deregister(RunnerInfo runner) {
        dsl.deleteFrom(RUNNERS).where(RUNNERS.ID.eq(runner.id()).and(RUNNERS.INSTANCE.eq(runner.instance()))).execute();
    }

    /**
     * A runner as its row and the jobs table show it: when its process started, how long ago it
     * last beat (by the database's clock), how many jobs run under its id, and the workers it serves.
     */
    public record Listed(String id, String host, long pid, String version, OffsetDateTime startedAt, Duration silentFor,
                         long running, List<String> workers) {
    }

    /**
     * Every runner that has a row, by id: live ones and those silent for up to a day (then they
     * are forgotten). Counts each one's running jobs through {@code jobs_running_idx}.
     */
    public List<Listed> list() {
        return dsl.fetch("""
                select r.id, r.host, r.pid, r.version, r.started_at, %s as silent_ms,
                       (select count(*) from jobs j where j.state = 'running' and j.runner_id = r.id) as running,
                       r.workers::text as workers
                from runners r
                order by r.id
                """.formatted(SILENT_MILLIS)).map(r -> new Listed(r.get(0, String.class), r.get(1, String.class), r.get(2, Long.class),
                r.get(3, String.class), r.get(4, OffsetDateTime.class), Duration.ofMillis(Math.max(0, r.get(5, Long.class))),
                r.get(6, Long.class), workers(r.get(7, String.class))));
    }

    private static List<String> workers(String json) {
        try {
            return List.of(JSON.readValue(json, String[].class));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a runner's workers are not a JSON array of names: " + json, e);
        }
    }

    /** Forgets runners silent for longer than {@code age}; returns how many. */
    public int forgetSilentFor(Duration age) {
        return dsl.deleteFrom(RUNNERS)
                .where(RUNNERS.HEARTBEAT_AT.lt(ScheduleQueue.ago(age)))
                .execute();
    }
}
