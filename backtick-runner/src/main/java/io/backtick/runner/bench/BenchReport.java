package io.backtick.runner.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The figures of one bench run, as one JSON object ({@code --json}) or a few lines of text.
 *
 * @param history   the untimed insert of completed jobs before the run ({@code --history}); else null
 * @param backlog   the untimed enqueue of the backlog beneath (burn-down with {@code --backlog}) or of the
 *                  queue's fill (steady mode); else null
 * @param depthHeld steady mode: how many jobs the queue held waiting while timed; else null
 * @param checkpointed whether the timed burn-down started right after a {@code CHECKPOINT} (false in
 *                  continuous mode, and where the user may not run one)
 * @param completed timed jobs the database holds as completed at the end (steady mode: jobs of the
 *                  queue completed, at least those started while timed)
 * @param latency   continuous mode only; null in burn-down mode
 * @param gc        continuous mode only: the garbage collector's pauses while timed and the jobs that
 *                  waited through one; null in the other modes
 * @param dropped   whether the bench schema is gone (false with {@code --keep})
 */
public record BenchReport(BenchOptions options, Phase history, Phase backlog, DepthHeld depthHeld, boolean checkpointed, Phase enqueue, Phase process, long completed,
                          LatencyRecorder.Latency latency, LatencyRecorder.GcEffect gc, String schema, boolean dropped, Environment environment) {

    /** One timed phase: how many jobs in how long. */
    public record Phase(long jobs, double seconds) {

        static Phase of(long jobs, long nanos) {
            return new Phase(jobs, nanos / 1e9);
        }

        public double jobsPerSecond() {
            return seconds > 0 ? jobs / seconds : 0;
        }

        Map<String, Object> toMap() {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("jobs", jobs);
            map.put("seconds", round(seconds, 3));
            map.put("jobs_per_second", round(jobsPerSecond(), 1));
            return map;
        }
    }

    /** Steady mode: the jobs waiting in the queue while timed, as the feeder saw them (enqueued less claimed). */
    public record DepthHeld(long min, long mean) {
    }

    /** Where the figures were taken: they mean little without it. */
    public record Environment(int cores, long maxHeapBytes, String java, String postgres, String database) {

        static Environment here(String postgresVersion, String database) {
            return new Environment(Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory(),
                    System.getProperty("java.version"), postgresVersion, database);
        }
    }

    /** The timed jobs: the burn-down's count, what continuous mode enqueued, or what steady mode started. */
    public long timedJobs() {
        return options.mode() == BenchOptions.Mode.STEADY ? process.jobs() : enqueue.jobs();
    }

    /**
     * Whether every timed job was processed: in steady mode, every job started while timed is
     * completed (the queue's other jobs are left waiting by design).
     */
    public boolean complete() {
        return options.mode() == BenchOptions.Mode.STEADY ? completed >= timedJobs() : completed == timedJobs();
    }

    public String toJson() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("mode", options.mode().label());
        map.put("threads", options.threads());
        map.put("runners", options.runners());
        if (options.mode() == BenchOptions.Mode.BURN_DOWN) {
            map.put("jobs", options.jobs());
            map.put("backlog", options.backlog());
            map.put("warmup", options.warmup());
            map.put("analyzed", options.analyze());
            map.put("checkpointed", checkpointed);
            if (backlog != null) {
                map.put("backlog_enqueue", backlog.toMap());
            }
        } else if (options.mode() == BenchOptions.Mode.STEADY) {
            map.put("depth", options.depth());
            map.put("duration_seconds", round(options.duration().toNanos() / 1e9, 3));
            map.put("warmup", options.warmup());
            map.put("analyzed", options.analyze());
            map.put("checkpointed", checkpointed);
            map.put("fill", backlog.toMap());
            Map<String, Object> held = new LinkedHashMap<>();
            held.put("min", depthHeld.min());
            held.put("mean", depthHeld.mean());
            map.put("depth_held", held);
        } else {
            map.put("rate", options.rate());
            map.put("duration_seconds", round(options.duration().toNanos() / 1e9, 3));
            map.put("warmup", options.warmup());
            if (options.warmup() > 0) {
                map.put("warmup_rate", options.warmupRateOrRate());
            }
            if (options.scheduledIn() != null) {
                map.put("scheduled_in_ms", options.scheduledIn().toMillis());
            }
        }
        if (history != null) {
            map.put("history", options.history());
            map.put("history_insert", history.toMap());
        }
        map.put("enqueue", enqueue.toMap());
        map.put("process", process.toMap());
        map.put("completed", completed);
        if (latency != null) {
            map.put("latency_ms", toMap(latency));
        }
        if (gc != null) {
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("pauses", gc.pauses());
            g.put("pause_ms", round(gc.pauseMillis(), 3));
            g.put("longest_pause_ms", round(gc.longestPauseMillis(), 3));
            g.put("jobs_waited_through_a_pause", gc.jobsThroughPause());
            g.put("latency_ms_of_the_rest", toMap(gc.clear()));
            map.put("gc", g);
        }
        map.put("schema", schema);
        map.put("schema_dropped", dropped);
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("cores", environment.cores());
        env.put("max_heap_mb", environment.maxHeapBytes() / (1024 * 1024));
        env.put("java", environment.java());
        env.put("postgres", environment.postgres());
        env.put("database", environment.database());
        map.put("environment", env);
        try {
            return new ObjectMapper().writeValueAsString(map);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the report as JSON", e);
        }
    }

    private static Map<String, Object> toMap(LatencyRecorder.Latency latency) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("jobs", latency.count());
        map.put("p50", round(latency.p50(), 3));
        map.put("p90", round(latency.p90(), 3));
        map.put("p99", round(latency.p99(), 3));
        map.put("max", round(latency.max(), 3));
        return map;
    }

    private String runnersText() {
        return options.runners() == 1 ? options.threads() + " threads"
                : String.format(Locale.ROOT, "%d runners of %d threads", options.runners(), options.threads());
    }

    public String toText() {
        StringBuilder text = new StringBuilder();
        if (options.mode() == BenchOptions.Mode.BURN_DOWN) {
            text.append(String.format(Locale.ROOT, "burn-down of %,d jobs%s%s, %s, PostgreSQL %s at %s%n",
                    options.jobs(), options.backlog() > 0 ? String.format(Locale.ROOT, " above a backlog of %,d", options.backlog()) : "",
                    options.warmup() > 0 ? String.format(Locale.ROOT, " after a warm-up of %,d", options.warmup()) : "",
                    runnersText(), environment.postgres(), environment.database()));
            if (backlog != null) {
                text.append(line("backlog", backlog, "enqueued first, untimed by the figures below"));
            }
            text.append(line("enqueue", enqueue, String.format(Locale.ROOT, "bulk, up to %,d per transaction%s",
                    Bench.BULK_BATCH, settledNote())));
        } else if (options.mode() == BenchOptions.Mode.STEADY) {
            text.append(String.format(Locale.ROOT, "steady: %,d jobs kept waiting for %.1f s%s, %s, PostgreSQL %s at %s%n",
                    options.depth(), options.duration().toNanos() / 1e9,
                    options.warmup() > 0 ? String.format(Locale.ROOT, " after a warm-up of %,d", options.warmup()) : "",
                    runnersText(), environment.postgres(), environment.database()));
            text.append(line("fill", backlog, "untimed" + settledNote()));
            text.append(line("enqueue", enqueue, "topping the queue up in bulk as the runners claim"));
            text.append(line("process", process, String.format(Locale.ROOT,
                    "started at depth: %,d waiting at least, %,d on average; %s", depthHeld.min(), depthHeld.mean(),
                    complete() ? "all completed" : String.format(Locale.ROOT, "only %,d completed", completed))));
        } else {
            text.append(String.format(Locale.ROOT, "continuous: %,.0f jobs/s for %.1f s%s, %s, PostgreSQL %s at %s%n",
                    options.rate(), options.duration().toNanos() / 1e9,
                    options.warmup() > 0 ? String.format(Locale.ROOT, " after a warm-up of %,d%s", options.warmup(),
                            options.warmupRate() > 0 ? String.format(Locale.ROOT, " at %,.0f jobs/s", options.warmupRate()) : "") : "",
                    runnersText(), environment.postgres(), environment.database()));
            boolean behind = enqueue.jobsPerSecond() < 0.95 * options.rate();
            text.append(line("enqueue", enqueue, behind ? "one per transaction; BEHIND the rate asked for: enqueueing is the bottleneck"
                    : "one per transaction"));
        }
        if (history != null) { // right under the first line, which says what ran
            text.insert(text.indexOf(System.lineSeparator()) + System.lineSeparator().length(), line("history", history,
                    "completed jobs of the past day in the table before the run; inserted, vacuumed and analyzed, untimed"));
        }
        if (options.mode() != BenchOptions.Mode.STEADY) {
            text.append(line("process", process, completed == timedJobs() ? "all completed"
                    : String.format(Locale.ROOT, "only %,d of %,d completed", completed, timedJobs())));
        }
        if (latency != null) {
            text.append(String.format(Locale.ROOT,
                    "latency  %s: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms%s%n",
                    options.scheduledIn() == null ? "enqueue commit to job start"
                            : "due time to job start (each job enqueued to run " + options.scheduledIn().toMillis() + " ms later)",
                    latency.p50(), latency.p90(), latency.p99(), latency.max(), options.warmup() > 0 ? ""
                            : " (a runner just started, its JVM still compiling: --warmup 5000 times one that has run a while)"));
        }
        if (gc != null) {
            text.append(String.format(Locale.ROOT,
                    "gc       %d pauses while timed, %.1f ms in all, the longest %.1f ms; %,d jobs waited through one,"
                            + " the rest: p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
                    gc.pauses(), gc.pauseMillis(), gc.longestPauseMillis(), gc.jobsThroughPause(), gc.clear().p50(),
                    gc.clear().p99(), gc.clear().max()));
        }
        text.append(dropped ? "schema " + schema + " dropped" : "schema " + schema + " kept (drop it with: drop schema "
                + schema + " cascade)").append(System.lineSeparator());
        return text.toString();
    }

    /** What the bench did between the untimed enqueue and the clock (burn-down and steady). */
    private String settledNote() {
        return (options.analyze() ? "; then VACUUM (ANALYZE), untimed" : "")
                + (checkpointed ? "; then CHECKPOINT, untimed"
                        : "; no CHECKPOINT (the user may not run one), so a checkpoint may fall inside the run");
    }

    private static String line(String what, Phase phase, String note) {
        return String.format(Locale.ROOT, "%-8s %,10d jobs in %8.3f s = %,10.0f jobs/s  (%s)%n", what, phase.jobs(),
                phase.seconds(), phase.jobsPerSecond(), note);
    }

    private static double round(double value, int places) {
        double scale = Math.pow(10, places);
        return Math.round(value * scale) / scale;
    }
}
