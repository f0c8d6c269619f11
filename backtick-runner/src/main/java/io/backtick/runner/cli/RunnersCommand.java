package io.backtick.runner.cli;

import io.backtick.runner.engine.Heartbeat;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.queue.RunnerRegistry;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code backtick runners}: the runners of the queue, alive or lost, with what each holds and serves. */
@Command(name = "runners", mixinStandardHelpOptions = true,
        description = {"List the runners of the queue: id, host and pid, version, when each started, its last "
            + "heartbeat (lost after 30 s of silence, forgotten after a day), the jobs running under its id and "
            + "the workers it serves."})
final class RunnersCommand implements Callable<Integer> {

    @Mixin
    DatabaseOptions database;

    @Override
    public Integer call() {
        try (QueueDatabase queue = QueueCommands.open(database)) {
            List<RunnerRegistry.Listed> runners = queue.runners().list();
            PrintStream out = System.out;
            if (runners.isEmpty()) {
                out.println("no runners (start one with 'backtick run --plugins DIR')");
                return 0;
            }
            out.printf("%-32s %-24s %-8s %-14s %-26s %-24s %-8s %s%n", "ID", "HOST", "PID", "VERSION", "STARTED",
                    "HEARTBEAT", "RUNNING", "WORKERS");
            for (RunnerRegistry.Listed r : runners) {
                long seconds = r.silentFor().toSeconds();
                String heartbeat = r.silentFor().compareTo(Heartbeat.EXPIRY) > 0
                        ? "lost: silent " + seconds + " s" : seconds + " s ago";
                out.printf("%-32s %-24s %-8d %-14s %-26s %-24s %-8d %s%n", JobsCommand.abbreviate(r.id(), 32),
                        JobsCommand.abbreviate(r.host(), 24), r.pid(), JobsCommand.abbreviate(r.version(), 14),
                        r.startedAt().toInstant(), heartbeat, r.running(), String.join(", ", r.workers()));
            }
        }
        return 0;
    }
}
