package io.backtick.runner.cli;

import sun.misc.Signal;

/**
 * Turns SIGTERM and SIGINT into an orderly stop on the main thread, so the runner drains its jobs
 * and exits 0. (A shutdown hook would run the same stop, but the JVM would then exit 143.)
 */
final class Signals {

    private Signals() {
    }

    static void onStop(Runnable stop) {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), signal -> stop.run());
            } catch (IllegalArgumentException e) {
                // The signal is not available here (or is reserved): fall back to a shutdown hook.
                Runtime.getRuntime().addShutdownHook(new Thread(stop, "backtick-shutdown"));
            }
        }
    }
}
