package io.backtick.runner.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A long-running {@code backtick} child process (usually {@code run}) started by {@link BacktickCli#start}.
 * A daemon thread copies its stdout and stderr, merged, into a list of lines the test can wait on,
 * and echoes each line to the test's own output with a prefix, so a failing run leaves its log in
 * the failsafe report. {@link #close()} always kills the process, so a failed test leaves none behind.
 */
public final class RunnerProcess implements AutoCloseable {

    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final Process process;
    private final String description;
    private final String prefix;
    private final List<String> lines = new ArrayList<>();
    private final CountDownLatch drained = new CountDownLatch(1);

    RunnerProcess(Process process, String description) {
        this.process = process;
        this.description = description;
        this.prefix = "[backtick-" + COUNTER.incrementAndGet() + " pid " + process.pid() + "] ";
        Thread pump = new Thread(this::pump, "output-of-pid-" + process.pid());
        pump.setDaemon(true);
        pump.start();
    }

    private void pump() {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                synchronized (lines) {
                    lines.add(line);
                }
                System.out.println(prefix + line);
            }
        } catch (IOException e) {
            // The stream closes when the process is killed; what was read so far stays.
        } finally {
            drained.countDown();
        }
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Everything the process printed so far, stdout and stderr merged, one line per line. */
    public String output() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    /** The first line printed so far that contains {@code text}. */
    public Optional<String> findLine(String text) {
        synchronized (lines) {
            return lines.stream().filter(line -> line.contains(text)).findFirst();
        }
    }

    /**
     * Waits until a line containing {@code text} appears and returns it. Fails at once, with the
     * output, if the process ends without printing it, and at {@code timeout} otherwise.
     */
    public String awaitLine(String text, Duration timeout) {
        return await("a line containing '" + text + "' from 'backtick " + description + "'")
                .atMost(timeout)
                .pollInterval(Duration.ofMillis(50))
                .until(() -> {
                    Optional<String> line = findLine(text);
                    if (line.isEmpty() && drained.getCount() == 0) {
                        throw new IllegalStateException("'backtick " + description + "' ended (exit code "
                                + exitCodeOrNull() + ") without printing '" + text + "'. Its output:\n" + output());
                    }
                    return line;
                }, Optional::isPresent)
                .orElseThrow();
    }

    /**
     * Sends SIGTERM: the runner's graceful stop. Through the {@link ProcessHandle}, not
     * {@link Process#destroy()}: that sends the same signal but also closes our end of the output
     * pipe, so the lines the runner logs while stopping would be lost.
     */
    public void sigterm() {
        process.toHandle().destroy();
    }

    /** Waits for the process to exit and for its output to be read to the end; returns the exit code. */
    public int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("'backtick " + description + "' did not exit within " + timeout
                        + ". Its output:\n" + output());
            }
            assertThat(drained.await(10, TimeUnit.SECONDS)).as("output of 'backtick %s' read to the end", description).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        return process.exitValue();
    }

    private Integer exitCodeOrNull() {
        return process.isAlive() ? null : process.exitValue();
    }

    /** Kills the process (and any child it started) if it still runs, and waits for it to end. */
    @Override
    public void close() {
        if (!process.isAlive()) {
            return;
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                System.err.println(prefix + "did not die within 10 s of SIGKILL");
            }
            drained.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
