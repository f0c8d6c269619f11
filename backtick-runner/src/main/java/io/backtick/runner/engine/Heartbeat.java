package io.backtick.runner.engine;

import io.backtick.runner.queue.RunnerRegistry;
import java.time.Duration;

/**
 * Keeps this runner's row in the runners table fresh, so others see it alive, and forgets runners
 * that have been silent for a day. A runner whose heartbeat is older than {@link #EXPIRY} is gone.
 */
public final class Heartbeat extends PeriodicLoop {

    public static final Duration INTERVAL = Duration.ofSeconds(5);
    public static final Duration EXPIRY = Duration.ofSeconds(30);
    private static final Duration FORGET_AFTER = Duration.ofDays(1);

    private final RunnerRegistry runners;
    private final RunnerRegistry.RunnerInfo self;

    public Heartbeat(RunnerRegistry runners, RunnerRegistry.RunnerInfo self, DatabaseHealth health) {
        super("heartbeat", health, INTERVAL, Duration.ofSeconds(10));
        this.runners = runners;
        this.self = self;
    }

    /** Registers this runner; called before the loop starts so the runner is listed at once. */
    public void register() {
        runners.register(self);
    }

    public void runOnce() {
        if (!runners.heartbeat(self.id())) {
            runners.register(self);
        }
        runners.forgetSilentFor(FORGET_AFTER);
    }

    @Override
    protected void round() {
        runOnce();
    }

    @Override
    protected void finish() {
        try {
            runners.deregister(self.id());
        } catch (RuntimeException e) {
            // The database is away: the row expires by itself.
        }
    }
}
