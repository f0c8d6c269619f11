package io.backtick.runner.lifecycle;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service made of one named thread that repeats a step until stopped. The step does the work;
 * the loop only runs it, survives its exceptions (logging them once per run of failures) and
 * waits between rounds as the step asks.
 */
public abstract class Loop implements Service {

    private static final Logger log = LoggerFactory.getLogger(Loop.class);

    private final String threadName;
    private final Duration stopTimeout;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean running;
    private Thread thread;

    protected Loop(String threadName, Duration stopTimeout) {
        this.threadName = threadName;
        this.stopTimeout = stopTimeout;
    }

    /** One round of work. Returns normally or throws; the loop goes on either way while running. */
    protected abstract void step() throws InterruptedException;

    /** Called once on the loop's thread after the last step, for final work such as a flush. */
    protected void finish() {
    }

    /** Wakes the loop from a wait, to see that it should stop. */
    protected abstract void wake();

    @Override
    public synchronized void start() {
        if (thread != null) {
            return;
        }
        running = true;
        thread = new Thread(this::run, threadName);
        thread.setDaemon(false);
        thread.start();
    }

    /** Whether {@link #stop()} has not been asked for yet. */
    protected boolean isRunning() {
        return running;
    }

    private void run() {
        boolean failing = false;
        try {
            while (running) {
                try {
                    step();
                    failing = false;
                } catch (InterruptedException e) {
                    if (!running) {
                        break;
                    }
                } catch (RuntimeException | Error e) {
                    if (!failing) {
                        log.error("{} failed, retrying: {}", threadName, e.toString(), e);
                    }
                    failing = true;
                    pause();
                }
            }
            finish();
        } finally {
            stopped.countDown();
        }
    }

    private void pause() {
        try {
            Thread.sleep(1_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void stop() {
        Thread t;
        synchronized (this) {
            t = thread;
            running = false;
        }
        if (t == null) {
            return;
        }
        wake();
        try {
            if (!stopped.await(stopTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("{} did not stop within {}; interrupting it", threadName, stopTimeout);
                t.interrupt();
                stopped.await(stopTimeout.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
