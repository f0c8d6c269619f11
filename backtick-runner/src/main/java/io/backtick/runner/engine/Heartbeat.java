package io.backtick.runner.engine;

import io.backtick.runner.config.ConfigException;
import io.backtick.runner.config.Durations;
import io.backtick.runner.queue.RunnerRegistry;
import io.backtick.runner.queue.RunnerRegistry.Beat;
import io.backtick.runner.queue.RunnerRegistry.Holder;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this runner's row in the runners table fresh, so others see it alive, and forgets runners
 * that have been silent for a day. A runner whose heartbeat is older than {@link #EXPIRY} is gone.
 *
 * <p>A runner id belongs to one live process at a time. The row carries the token of the process
 * that holds it ({@link RunnerRegistry.RunnerInfo#instance()}). A runner starting finds out whether
 * another process still holds its id before it takes the row ({@link #register()}), and a runner
 * whose row another process took over stops beating and says so ({@code onTaken}): two live
 * processes sharing an id would hand back each other's running jobs, and those would run twice.
 */
public final class Heartbeat extends PeriodicLoop {

    private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);

    public static final Duration INTERVAL = Duration.ofSeconds(5);
    public static final Duration EXPIRY = Duration.ofSeconds(30);
    /**
     * A row of this runner's id that another process beat less than this long ago may belong to a
     * live runner: a starting runner watches it until it is this old (and takes it) or beats again
     * (and refuses to start). Two heartbeat intervals and a second, so a live runner beats at least
     * once meanwhile, and a runner restarted after a crash waits at most this long.
     */
    public static final Duration TAKEOVER_AFTER = INTERVAL.multipliedBy(2).plusSeconds(1);
    /** How often a starting runner looks again at a row another process may still hold. */
    private static final Duration WATCH_EVERY = Duration.ofMillis(250);
    private static final Duration FORGET_AFTER = Duration.ofDays(1);

    private final RunnerRegistry runners;
    private final RunnerRegistry.RunnerInfo self;
    private final Consumer<String> onTaken;
    /** Set once another process took this runner's id over: it beats no more. Only the heartbeat's thread reads it. */
    private boolean taken;

    /** With {@code onTaken} told, once, why this runner must stop when another process takes over its id. */
    public Heartbeat(RunnerRegistry runners, RunnerRegistry.RunnerInfo self, DatabaseHealth health, Consumer<String> onTaken) {
        super("heartbeat", health, INTERVAL, Duration.ofSeconds(10));
        this.runners = runners;
        this.self = self;
        this.onTaken = onTaken;
    }

    /**
     * Takes this runner's id for this process, so the runner is listed at once; called before
     * anything is claimed. If another process beat the id's row within {@link #TAKEOVER_AFTER},
     * waits to see whether it beats again: then a live runner has this id, and this one refuses to
     * start with a {@link ConfigException} that says so; else that process is gone (a crash, a
     * kill, a lost machine) and the row is taken over, as a row beaten longer ago is at once.
     */
    public void register() {
        Holder watched = null;
        while (true) {
            Optional<Holder> found = runners.holder(self.id());
            if (found.isEmpty()) {
                if (runners.register(self)) {
                    return;
                }
                continue; // another process wrote the row just now: look at it
            }
            Holder holder = found.get();
            boolean silent = holder.silentFor().compareTo(TAKEOVER_AFTER) >= 0;
            if (silent || self.instance().equals(holder.instance())) {
                if (runners.takeOver(self, holder)) {
                    return;
                }
                continue; // it beat or changed hands between the look and the takeover
            }
            if (watched == null) {
                watched = holder;
                log.info("Runner id {} was held by pid {} on {}, whose last heartbeat was {} ago: waiting up to {} "
                                + "to see whether it is still alive", self.id(), holder.pid(), holder.host(),
                        Durations.format(holder.silentFor()), Durations.format(TAKEOVER_AFTER.minus(holder.silentFor())));
            } else if (!Objects.equals(holder.instance(), watched.instance()) || holder.heartbeatAt().isAfter(watched.heartbeatAt())) {
                throw new ConfigException(inUse(holder));
            }
            pause(min(WATCH_EVERY, TAKEOVER_AFTER.minus(holder.silentFor())));
        }
    }

    private String inUse(Holder holder) {
        return "runner id '" + self.id() + "' is in use by a live runner (pid " + holder.pid() + " on " + holder.host()
                + "): give each runner its own --runner-id (BACKTICK_RUNNER_ID), or leave it unset for one of its own";
    }

    public void runOnce() {
        if (taken) {
            return;
        }
        Beat beat = runners.heartbeat(self);
        if (beat instanceof Beat.Gone && !runners.register(self)) {
            beat = runners.heartbeat(self);
        }
        if (beat instanceof Beat.Taken t) {
            taken = true;
            String why = "runner id '" + self.id() + "' was taken over by pid " + t.by().pid() + " on " + t.by().host()
                    + ", which found this runner silent or was started with the same id; this runner stops "
                    + "(give each runner its own --runner-id)";
            log.error("{}", why);
            onTaken.accept(why);
            return;
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
            runners.deregister(self);
        } catch (RuntimeException e) {
            // The database is away: the row expires by itself.
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static void pause(Duration d) {
        try {
            Thread.sleep(Math.max(1, d.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting to take the runner id over", e);
        }
    }
}
