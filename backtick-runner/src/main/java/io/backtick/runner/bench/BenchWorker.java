package io.backtick.runner.bench;

import io.backtick.api.JobContext;
import io.backtick.api.Json;
import io.backtick.api.WorkerOptions;
import io.backtick.runner.plugin.WorkerRegistry;
import java.util.concurrent.atomic.LongAdder;

/**
 * The bench's built-in worker, {@value #NAME}: it does nothing but note that a job started. In
 * burn-down mode its arguments say which kind of job it is: {@code [0]} a timed job, {@code [1]} a
 * job of the backlog beneath, {@code [2]} one of the warm-up; in continuous mode they are
 * {@code [SEQ]}, a sequence number whose start the {@link LatencyRecorder} times, or {@code [-1]} for
 * a job of the warm-up ahead of them. It takes the arguments as raw JSON so binding costs nothing.
 *
 * <p>Every burn-down job takes the same path through {@link #perform}, its kind only an index:
 * had the timed jobs a branch of their own that the warm-up never took, the JIT would have
 * compiled the warm-up's hot path without it, and the first timed job would throw that code away
 * (deoptimise it), with everything it was inlined into, and recompile it while the timed run goes on.
 */
final class BenchWorker {

    static final String NAME = "bench-noop";
    private static final int TIMED = 0;
    private static final int BACKLOG = 1;
    private static final int WARMUP = 2;
    static final String TIMED_ARGS = "[" + TIMED + "]";
    static final String BACKLOG_ARGS = "[" + BACKLOG + "]";
    static final String WARMUP_ARGS = "[" + WARMUP + "]";
    /** A continuous-mode job of the warm-up: a sequence number that is never timed. */
    static final String CONTINUOUS_WARMUP_ARGS = "[-1]";

    private final LongAdder[] started = {new LongAdder(), new LongAdder(), new LongAdder()};
    /** Null in burn-down mode. */
    private final LatencyRecorder latencies;

    /** A worker for burn-down mode ({@code latencies} null) or continuous mode. */
    BenchWorker(LatencyRecorder latencies) {
        this.latencies = latencies;
    }

    /** Declares the worker in {@code registry}, as a plugin would; one attempt, nothing to retry. */
    void register(WorkerRegistry registry) {
        registry.declaringFor("backtick bench").define(NAME, Json.class,
                WorkerOptions.defaults().withMaxAttempts(1), this::perform);
    }

    private void perform(Json args, JobContext job) {
        long now = System.nanoTime();
        String text = args.text();
        if (latencies == null) {
            started[text.charAt(1) - '0'].increment();
        } else {
            long seq = Long.parseLong(text.substring(1, text.length() - 1).strip());
            if (seq < 0) {
                started[WARMUP].increment();
            } else {
                latencies.started(seq, now);
                started[TIMED].increment();
            }
        }
    }

    /** Timed jobs (burn-down or continuous) that have started so far. */
    long timedStarted() {
        return started[TIMED].sum();
    }

    /** Backlog jobs that have started (after the timed ones, while the bench stops). */
    long backlogStarted() {
        return started[BACKLOG].sum();
    }

    /** Warm-up jobs that have started. */
    long warmupStarted() {
        return started[WARMUP].sum();
    }
}
