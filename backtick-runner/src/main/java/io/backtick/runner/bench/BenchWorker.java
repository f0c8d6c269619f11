package io.backtick.runner.bench;

import io.backtick.api.JobContext;
import io.backtick.api.Json;
import io.backtick.api.WorkerOptions;
import io.backtick.runner.plugin.WorkerRegistry;
import java.util.concurrent.atomic.LongAdder;

/**
 * The bench's built-in worker, {@value #NAME}: it does nothing but note that a job started. Its
 * arguments say which kind of job it is: {@code []} a timed burn-down job, {@code ["backlog"]} a
 * job of the backlog beneath, {@code [SEQ]} a continuous-mode job whose start the
 * {@link LatencyRecorder} times. It takes the arguments as raw JSON so binding costs nothing.
 */
final class BenchWorker {

    static final String NAME = "bench-noop";
    static final String TIMED_ARGS = "[]";
    static final String BACKLOG_ARGS = "[\"backlog\"]";

    private final LongAdder timedStarted = new LongAdder();
    private final LongAdder backlogStarted = new LongAdder();
    private final LatencyRecorder latencies;

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
        if (text.equals(TIMED_ARGS)) {
            timedStarted.increment();
        } else if (text.startsWith("[\"")) {
            backlogStarted.increment();
        } else {
            latencies.started(Long.parseLong(text.substring(1, text.length() - 1).strip()), now);
            timedStarted.increment();
        }
    }

    /** Timed jobs (burn-down or continuous) that have started so far. */
    long timedStarted() {
        return timedStarted.sum();
    }

    /** Backlog jobs that have started (after the timed ones, while the bench stops). */
    long backlogStarted() {
        return backlogStarted.sum();
    }
}
