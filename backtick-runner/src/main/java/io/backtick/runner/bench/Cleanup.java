package io.backtick.runner.bench;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the bench must undo, in the reverse order it was set up: stop the runner, close the pools,
 * drop the schema, release its lock, stop an embedded database. Runs once, from whichever comes
 * first: the end of the bench or the shutdown hook of Ctrl-C; the other caller waits for it to
 * finish. A step that fails is logged and the next one still runs.
 */
public final class Cleanup {

    private static final Logger log = LoggerFactory.getLogger(Cleanup.class);

    private final Deque<Step> steps = new ArrayDeque<>();
    private volatile boolean started;

    private record Step(String what, Runnable action) {
    }

    /** Adds a step; it runs before every step added earlier. */
    public synchronized void add(String what, Runnable action) {
        if (started) {
            // Set up after the cleanup ran (Ctrl-C during start-up): undo it at once.
            runStep(new Step(what, action));
            return;
        }
        steps.push(new Step(what, action));
    }

    /** Runs every step, newest first; later calls wait for the first to finish and do nothing. */
    public synchronized void run() {
        started = true;
        while (!steps.isEmpty()) {
            runStep(steps.pop());
        }
    }

    /** Whether the cleanup has begun: the bench should stop what it is doing. */
    public boolean started() {
        return started;
    }

    private static void runStep(Step step) {
        try {
            step.action().run();
        } catch (RuntimeException e) {
            log.warn("backtick bench: could not {}: {}", step.what(), e.getMessage());
        }
    }
}
