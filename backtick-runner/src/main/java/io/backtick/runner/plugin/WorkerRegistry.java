package io.backtick.runner.plugin;

import io.backtick.api.Schedule;
import io.backtick.api.ScheduledWorker;
import io.backtick.api.Worker;
import io.backtick.api.WorkerOptions;
import io.backtick.api.Workers;
import io.backtick.runner.schedule.CronExpression;
import io.backtick.runner.schedule.InvalidScheduleException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Every worker this runner serves, by name. Plugins fill it while the runner starts; executor
 * threads read it for every job, so lookups take no lock.
 */
public final class WorkerRegistry {

    private final Map<String, WorkerDefinition> byName = new ConcurrentHashMap<>();
    private final List<WorkerDefinition> inOrder = new CopyOnWriteArrayList<>();
    private final List<ScheduleDefinition> schedules = new CopyOnWriteArrayList<>();

    /** The {@link Workers} a plugin sees; every worker it declares is recorded as coming from {@code source}. */
    public Workers declaringFor(String source) {
        return new Workers() {
            @Override
            public <A> Workers define(String name, Class<A> argsType, WorkerOptions options, Worker<? super A> worker) {
                add(name, argsType, options, worker, source);
                return this;
            }

            @Override
            public Workers scheduled(String name, Schedule schedule, WorkerOptions options, ScheduledWorker worker) {
                Objects.requireNonNull(schedule, () -> source + ": schedule of worker '" + name + "' is null");
                Objects.requireNonNull(worker, () -> source + ": worker '" + name + "' was declared without code to run");
                if (schedule.kind() == Schedule.Kind.CRON) {
                    try {
                        CronExpression.parse(schedule.expression().orElseThrow());
                    } catch (InvalidScheduleException e) {
                        throw new PluginException(source + ": schedule '" + name + "': cron expression '"
                                + schedule.expression().orElseThrow() + "' " + e.getMessage());
                    }
                }
                add(name, Void.class, options, (Worker<Void>) (args, job) -> worker.perform(job), source);
                schedules.add(new ScheduleDefinition(name, schedule, source));
                return this;
            }
        };
    }

    /** A schedule a plugin declared, for a worker of the same name. */
    public record ScheduleDefinition(String name, Schedule schedule, String source) {
    }

    /** Every schedule, in the order they were declared. */
    public List<ScheduleDefinition> schedules() {
        return List.copyOf(schedules);
    }

    @SuppressWarnings("unchecked")
    <A> void add(String name, Class<A> argsType, WorkerOptions options, Worker<? super A> worker, String source) {
        if (name == null || name.isBlank()) {
            throw new PluginException(source + ": a worker was declared with a blank name");
        }
        Objects.requireNonNull(argsType, () -> source + ": worker '" + name + "' was declared without an argument type");
        Objects.requireNonNull(options, () -> source + ": worker '" + name + "' was declared with null options");
        Objects.requireNonNull(worker, () -> source + ": worker '" + name + "' was declared without code to run");
        WorkerDefinition definition = new WorkerDefinition(name, argsType, options, (Worker<Object>) worker, source);
        WorkerDefinition existing = byName.putIfAbsent(name, definition);
        if (existing != null) {
            throw new PluginException("worker '" + name + "' is declared twice: by " + existing.source()
                    + " and by " + source + "; worker names must be unique across plugins");
        }
        inOrder.add(definition);
    }

    public Optional<WorkerDefinition> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** Every worker, in the order they were declared. */
    public List<WorkerDefinition> all() {
        return List.copyOf(inOrder);
    }

    /** The names of every worker, for the claim query. */
    public String[] names() {
        return inOrder.stream().map(WorkerDefinition::name).toArray(String[]::new);
    }

    public boolean isEmpty() {
        return inOrder.isEmpty();
    }
}
