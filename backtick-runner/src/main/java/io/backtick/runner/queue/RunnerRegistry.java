package io.backtick.runner.queue;

import static io.backtick.jooq.Tables.RUNNERS;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.List;
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

    /** A runner's identity. */
    public record RunnerInfo(String id, String host, long pid, String version, List<String> workers) {
    }

    /** Records this runner as alive now. */
    public void register(RunnerInfo runner) {
        JSONB workers;
        try {
            workers = JSONB.valueOf(JSON.writeValueAsString(runner.workers()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        dsl.insertInto(RUNNERS, RUNNERS.ID, RUNNERS.HOST, RUNNERS.PID, RUNNERS.VERSION, RUNNERS.WORKERS)
                .values(runner.id(), runner.host(), runner.pid(), runner.version(), workers)
                .onConflict(RUNNERS.ID)
                .doUpdate()
                .set(RUNNERS.WORKERS, DSL.excluded(RUNNERS.WORKERS))
                .set(RUNNERS.HEARTBEAT_AT, DSL.currentOffsetDateTime())
                .execute();
    }

    /** Refreshes the heartbeat; returns false if the row is gone (then register again). */
    public boolean heartbeat(String runnerId) {
        return dsl.update(RUNNERS).set(RUNNERS.HEARTBEAT_AT, DSL.currentOffsetDateTime())
                .where(RUNNERS.ID.eq(runnerId)).execute() == 1;
    }

    public void deregister(String runnerId) {
        dsl.deleteFrom(RUNNERS).where(RUNNERS.ID.eq(runnerId)).execute();
    }

    /** Forgets runners silent for longer than {@code age}; returns how many. */
    public int forgetSilentFor(Duration age) {
        return dsl.deleteFrom(RUNNERS)
                .where(RUNNERS.HEARTBEAT_AT.lt(ScheduleQueue.ago(age)))
                .execute();
    }
}
