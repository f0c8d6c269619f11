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
 *
 * <p>On Ctrl-C the hook first only asks the bench to stop ({@link #requestStop}) and waits a
 * little for it to clean up on its own thread, between two of its steps; only a bench that does
 * not stop in time has the pools closed under it by the hook.
 */
public final class Cleanup {

    private static final Logger log = LoggerFactory.getLogger(Cleanup.class);

    private final Deque<Step> steps = new ArrayDeque<>();
    private final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
    private volatile boolean started;
    private volatile boolean stopRequested;

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
        done.countDown();
    }

    /** Asks the bench to stop at its next step and clean up. */
    public void requestStop() {
        stopRequested = true;
    }

    /** Whether the bench should stop what it is doing: a stop was asked for, or the cleanup has begun. */
    public boolean stopRequested() {
        return stopRequested || started;
    }

    /** Waits up to {@code timeout} for the cleanup to have run; returns whether it has. */
    public boolean awaitDone(java.time.Duration timeout) throws InterruptedException {
        return done.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    private static void runStep(Step step) {
        try {
            step.action().run();
        } catch (RuntimeException e) {
            log.warn("backtick bench: could not {}: {}", step.what(), e.getMessage());
        }
    }
}
