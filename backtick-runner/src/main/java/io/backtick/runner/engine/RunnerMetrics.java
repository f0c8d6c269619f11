package io.backtick.runner.engine;

import io.backtick.runner.queue.Outcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The runner's meters, through Micrometer. Names (in Prometheus form): {@code backtick_jobs_claimed_total},
 * {@code backtick_claim_jobs} (jobs per claim that found any: count, sum, max),
 * {@code backtick_jobs_finished_total{outcome=completed|retry|discard|release|cancel}},
 * {@code backtick_job_duration_seconds{worker}}, and gauges {@code backtick_jobs_running},
 * {@code backtick_threads_lost}, {@code backtick_outcomes_pending}, {@code backtick_database_lost},
 * {@code backtick_database_cleanup_held_seconds}, and the queue's {@code backtick_queue_available} and
 * {@code backtick_queue_lag_seconds} (read by {@code Maintenance}, registered by {@code Runner}).
 */
public final class RunnerMetrics {

    private final MeterRegistry registry;
    private final Counter claimed;
    private final DistributionSummary claimSizes;
    private final Map<Outcome.Kind, Counter> finished = new EnumMap<>(Outcome.Kind.class);
    private final Map<String, Timer> durations = new ConcurrentHashMap<>();

    public RunnerMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.claimed = Counter.builder("backtick.jobs.claimed").description("Jobs claimed by this runner").register(registry);
        this.claimSizes = DistributionSummary.builder("backtick.claim.jobs")
                .description("Jobs per claim, counting claims that found any")
                .register(registry);
        for (Outcome.Kind kind : Outcome.Kind.values()) {
            finished.put(kind, Counter.builder("backtick.jobs.finished")
                    .description("Attempts ended, by outcome")
                    .tag("outcome", kind.name().toLowerCase(Locale.ROOT))
                    .register(registry));
        }
    }

    void claimed(int n) {
        claimed.increment(n);
        if (n > 0) {
            claimSizes.record(n);
        }
    }

    void finished(Outcome outcome) {
        finished.get(outcome.kind()).increment();
    }

    void ran(String worker, Duration duration) {
        durations.computeIfAbsent(worker, w -> Timer.builder("backtick.job.duration")
                .description("How long attempts run, by worker")
                .tag("worker", w)
                .register(registry)).record(duration);
    }

    void gauge(String name, String description, Supplier<Number> value) {
        Gauge.builder(name, value).description(description).register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }
}
