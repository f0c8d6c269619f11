package io.backtick.runner.bench;

import io.backtick.runner.lifecycle.NamedThreadFactory;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The line on stderr that says how far the bench has got. On a terminal it is rewritten in place
 * five times a second; elsewhere (a log file, CI) a new line is printed every second instead, so
 * the output stays readable. {@link #off()} prints nothing at all.
 */
public final class Progress implements AutoCloseable {

    private final PrintStream out;
    private final boolean terminal;
    private final ScheduledExecutorService ticker;
    private volatile Supplier<String> line = () -> "";
    private int lastWidth;
    private boolean closed;

    private Progress(PrintStream out, boolean terminal, boolean enabled) {
        this.out = out;
        this.terminal = terminal;
        if (!enabled) {
            ticker = null;
            return;
        }
        ticker = Executors.newSingleThreadScheduledExecutor(new NamedThreadFactory("backtick-bench-progress", true));
        long period = terminal ? 200 : 1_000;
        ticker.scheduleAtFixedRate(this::print, period, period, TimeUnit.MILLISECONDS);
    }

    /** Progress on {@code out}: in place when stderr is a terminal, else periodic lines unless {@code quiet}. */
    public static Progress on(PrintStream out, boolean quiet) {
        boolean terminal = stderrIsTerminal();
        return new Progress(out, terminal, terminal || !quiet);
    }

    public static Progress off() {
        return new Progress(System.err, false, false);
    }

    /** What the line says from now on (asked for each time it is printed). */
    void show(Supplier<String> line) {
        this.line = line;
    }

    private synchronized void print() {
        if (closed) {
            return;
        }
        String text = "bench: " + line.get();
        if (text.equals("bench: ")) {
            return;
        }
        if (terminal) {
            // Pad over what a longer previous line left behind.
            out.print("\r" + text + " ".repeat(Math.max(0, lastWidth - text.length())));
            lastWidth = text.length();
        } else {
            out.println(text);
        }
        out.flush();
    }

    /** Stops the line; on a terminal, clears it so what follows starts on a clean line. */
    @Override
    public synchronized void close() {
        if (ticker == null || closed) {
            return;
        }
        closed = true;
        ticker.shutdownNow();
        if (terminal && lastWidth > 0) {
            out.print("\r" + " ".repeat(lastWidth) + "\r");
            out.flush();
            lastWidth = 0;
        }
    }

    /**
     * Whether file descriptor 2 is a terminal. Java cannot ask isatty(2) directly; on Linux the
     * descriptor's link names the device; elsewhere a console means an interactive session.
     */
    static boolean stderrIsTerminal() {
        Path fd = Path.of("/proc/self/fd/2");
        if (Files.exists(Path.of("/proc/self/fd"))) {
            try {
                String target = Files.readSymbolicLink(fd).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
            } catch (IOException | UnsupportedOperationException e) {
                return false;
            }
        }
        return System.console() != null;
    }
}
