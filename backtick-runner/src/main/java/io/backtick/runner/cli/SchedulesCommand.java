package io.backtick.runner.cli;

import io.backtick.runner.config.ConfigException;
import io.backtick.runner.engine.Heartbeat;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.queue.ScheduleRow;
import io.backtick.runner.queue.ScheduleStatus;
import io.backtick.runner.schedule.ScheduleSpec;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code backtick schedules}: lists the recurring and cron schedules; pauses and resumes them. */
@Command(name = "schedules", mixinStandardHelpOptions = true,
        description = {"List every recurring and cron schedule: its spec and zone, next and last run, the outcome "
            + "of its last job and the live runners that serve it (none: orphaned)."},
        subcommands = {SchedulesCommand.Pause.class, SchedulesCommand.Resume.class})
final class SchedulesCommand implements Callable<Integer> {

    @Mixin
    DatabaseOptions database;

    @Override
    public Integer call() {
        try (QueueDatabase queue = QueueCommands.open(database)) {
            List<ScheduleStatus> statuses = queue.schedules().statuses(Heartbeat.EXPIRY);
            PrintStream out = System.out;
            if (statuses.isEmpty()) {
                out.println("no schedules (plugins declare them with workers.recurring and workers.cron)");
                return 0;
            }
            out.printf("%-28s %-9s %-20s %-14s %-28s %-28s %-16s %s%n", "NAME", "KIND", "SPEC", "ZONE", "NEXT RUN",
                    "LAST RUN", "LAST OUTCOME", "RUNNERS");
            for (ScheduleStatus s : statuses) {
                ScheduleRow row = s.schedule();
                String spec = row.kind().equals("interval")
                        ? "every " + io.backtick.runner.config.Durations.format(java.time.Duration.ofMillis(Long.parseLong(row.spec())))
                        : row.spec();
                String next = row.paused() ? "paused" : row.nextRunAt().toString();
                String outcome = s.lastJobId() == null ? "-" : s.lastJobState().sqlName() + " (job " + s.lastJobId() + ")";
                String runners = s.liveRunners().isEmpty() ? "none: orphaned" : String.join(", ", s.liveRunners());
                out.printf("%-28s %-9s %-20s %-14s %-28s %-28s %-16s %s%n", JobsCommand.abbreviate(row.name(), 28),
                        row.kind(), JobsCommand.abbreviate(spec, 20), row.zone(), next,
                        row.lastRunAt() == null ? "-" : row.lastRunAt(), outcome, runners);
            }
        }
        return 0;
    }

    /** {@code backtick schedules pause NAME}. */
    @Command(name = "pause", mixinStandardHelpOptions = true, description = "Stop a schedule from creating jobs until resumed.")
    static final class Pause implements Callable<Integer> {

        @Mixin
        DatabaseOptions database;

        @Parameters(paramLabel = "NAME", description = "The schedule's name.")
        String name;

        @Override
        public Integer call() {
            try (QueueDatabase queue = QueueCommands.open(database)) {
                if (!queue.schedules().pause(name)) {
                    throw new ConfigException("there is no schedule named '" + name + "' (see 'backtick schedules')");
                }
                System.out.println("paused schedule " + name);
            }
            return 0;
        }
    }

    /** {@code backtick schedules resume NAME}. */
    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = "Resume a paused schedule from its next tick; ticks that passed while paused do not run.")
    static final class Resume implements Callable<Integer> {

        @Mixin
        DatabaseOptions database;

        @Parameters(paramLabel = "NAME", description = "The schedule's name.")
        String name;

        @Override
        public Integer call() {
            try (QueueDatabase queue = QueueCommands.open(database)) {
                ScheduleRow row = queue.schedules().find(name).orElseThrow(
                        () -> new ConfigException("there is no schedule named '" + name + "' (see 'backtick schedules')"));
                if (!row.paused()) {
                    System.out.println("schedule " + name + " is not paused");
                    return 0;
                }
                ScheduleSpec spec = ScheduleSpec.stored(row.name(), row.kind(), row.spec(), row.zone(), row.missed());
                Instant now = queue.schedules().now();
                Instant next = spec.nextAfterNow(row.nextRunAt(), now).orElseThrow(
                        () -> new ConfigException("schedule '" + name + "' has no time after now"));
                queue.schedules().resume(name, next);
                System.out.println("resumed schedule " + name + "; next run at " + next);
            }
            return 0;
        }
    }
}
