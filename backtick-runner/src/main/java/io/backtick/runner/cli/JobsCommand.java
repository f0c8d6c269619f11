package io.backtick.runner.cli;

import io.backtick.api.JobState;
import io.backtick.runner.config.ConfigException;
import io.backtick.runner.engine.Heartbeat;
import io.backtick.runner.queue.JobView;
import io.backtick.runner.queue.MaintenanceQueue;
import io.backtick.runner.queue.QueueDatabase;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code backtick jobs}: lists jobs, newest first; {@code backtick jobs show ID} shows one with its errors. */
@Command(name = "jobs", mixinStandardHelpOptions = true,
        description = "List jobs, newest first, with a count per state.",
        subcommands = {JobsCommand.Show.class, JobsCommand.Cancel.class, JobsCommand.Retry.class, JobsCommand.RetryAll.class,
            JobsCommand.CancelAll.class})
final class JobsCommand implements Callable<Integer> {

    @Mixin
    DatabaseOptions database;

    @Option(names = "--state", paramLabel = "STATE",
            description = "Only jobs in this state: ${COMPLETION-CANDIDATES}.")
    JobState state;

    @Option(names = "--worker", paramLabel = "NAME", description = "Only jobs of this worker.")
    String worker;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "20", description = "At most this many (default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() {
        if (limit < 1) {
            throw new ConfigException("--limit must be at least 1");
        }
        try (QueueDatabase queue = QueueCommands.open(database)) {
            PrintStream out = System.out;
            Map<JobState, Long> counts = queue.jobs().countByState();
            StringBuilder summary = new StringBuilder();
            counts.forEach((s, n) -> summary.append(summary.length() == 0 ? "" : ", ").append(s.sqlName()).append(' ').append(n));
            out.println(summary.length() == 0 ? "no jobs" : summary);
            Map<String, Long> absent = queue.maintenance().waitingForAbsentWorkers(Heartbeat.EXPIRY);
            if (!absent.isEmpty()) {
                StringBuilder line = new StringBuilder("waiting for a worker no live runner serves: ");
                absent.forEach((w, n) -> line.append(w).append(" (").append(n).append(") "));
                out.println(line.toString().strip());
            }
            List<JobView> jobs = queue.jobs().list(state, worker, limit);
            if (!jobs.isEmpty()) {
                out.printf("%-10s %-10s %-24s %-8s %-24s %s%n", "ID", "STATE", "WORKER", "ATTEMPT", "RUN AT", "ARGS");
                for (JobView job : jobs) {
                    out.printf("%-10d %-10s %-24s %-8s %-24s %s%n", job.id(), job.state().sqlName(),
                            abbreviate(job.worker(), 24), job.attempt() + "/" + job.maxAttempts(), job.runAt(),
                            abbreviate(job.argsJson(), 60));
                }
            }
        }
        return 0;
    }

    static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 3) + "...";
    }

    /** A subcommand about one job: the database options, the job's id, and what it does with the queue. */
    abstract static class OneJob implements Callable<Integer> {

        @Mixin
        DatabaseOptions database;

        @Parameters(paramLabel = "ID", description = "The job's id.")
        long id;

        @Override
        public final Integer call() {
            try (QueueDatabase queue = QueueCommands.open(database)) {
                run(queue);
            }
            return 0;
        }

        /** Does the command's work; a {@link ConfigException} says in one line why it could not. */
        abstract void run(QueueDatabase queue);
    }

    /** {@code backtick jobs cancel ID}. */
    @Command(name = "cancel", mixinStandardHelpOptions = true,
            description = {"Cancel a job. A waiting job is cancelled at once; a running one is told to stop "
                + "(its context reports it) and is recorded as cancelled when it returns."})
    static final class Cancel extends OneJob {

        @Override
        void run(QueueDatabase queue) {
            switch (queue.maintenance().cancel(id)) {
                case CANCELLED -> System.out.println("cancelled job " + id);
                case REQUESTED -> System.out.println("job " + id
                        + " is running: its runner was asked to stop it; it is recorded as cancelled when it returns");
                case ALREADY_FINISHED -> throw new ConfigException("job " + id + " has already finished ("
                        + queue.jobs().find(id).map(j -> j.state().sqlName()).orElse("gone") + ")");
                case NOT_FOUND -> throw new ConfigException("there is no job " + id);
            }
        }
    }

    /** {@code backtick jobs retry ID}. */
    @Command(name = "retry", mixinStandardHelpOptions = true,
            description = {"Run a job again at once: a finished one (completed, discarded, cancelled), with one more "
                + "attempt if it had used them all, or a scheduled or retryable one now instead of at its time. "
                + "Its errors are kept."})
    static final class Retry extends OneJob {

        @Override
        void run(QueueDatabase queue) {
            MaintenanceQueue.Retry retry = queue.maintenance().retry(id);
            switch (retry.result()) {
                case MADE_AVAILABLE -> System.out.println("job " + id + " is available again: attempt "
                        + retry.nextAttempt() + " of " + retry.maxAttempts() + " runs at once");
                case ALREADY_AVAILABLE -> System.out.println("job " + id + " is already available: it runs as soon as a runner is free");
                case RUNNING -> throw new ConfigException("job " + id
                        + " is running: retry it once it has finished, or cancel it first (backtick jobs cancel " + id + ")");
                case KEY_HELD -> throw new ConfigException("job " + retry.keyHolder() + " holds the key of job " + id
                        + " and has not ended: it runs in its place (backtick jobs show " + retry.keyHolder() + ")");
                case NOT_FOUND -> throw new ConfigException("there is no job " + id);
            }
        }
    }

    /** {@code backtick jobs cancel-all --worker NAME}. */
    @Command(name = "cancel-all", mixinStandardHelpOptions = true,
            description = {"Cancel every job of one worker that has not ended, each as 'backtick jobs cancel' does one: "
                + "waiting ones at once, running ones told to stop (recorded as cancelled when they return)."})
    static final class CancelAll implements Callable<Integer> {

        @Mixin
        DatabaseOptions database;

        @Option(names = "--worker", paramLabel = "NAME", required = true, description = "The worker whose jobs to cancel.")
        String worker;

        @Override
        public Integer call() {
            try (QueueDatabase queue = QueueCommands.open(database)) {
                MaintenanceQueue.CancelAll done = queue.maintenance().cancelAll(worker, RetryAll.BATCH);
                System.out.println("cancelled " + done.cancelled() + " waiting job(s) of worker " + worker
                        + (done.requested() == 0 ? "" : "; told the runners of " + done.requested()
                                + " running job(s) to stop them (each is recorded as cancelled when it returns)"));
            }
            return 0;
        }
    }

    /** {@code backtick jobs retry-all --state STATE [--worker NAME]}. */
    @Command(name = "retry-all", mixinStandardHelpOptions = true,
            description = {"Run again at once every job in one state, of one worker or of all, each as "
                + "'backtick jobs retry' does one: after an outage made a worker's jobs fail for good, "
                + "--state discarded --worker NAME."})
    static final class RetryAll implements Callable<Integer> {

        /** Jobs made available per statement: each commits, and is announced, on its own. */
        static final int BATCH = 1_000;

        @Mixin
        DatabaseOptions database;

        @Option(names = "--state", paramLabel = "STATE", required = true,
                description = "The jobs to run again: those in this state (discarded, cancelled, completed, retryable or scheduled).")
        JobState state;

        @Option(names = "--worker", paramLabel = "NAME", description = "Only jobs of this worker (default: every worker's).")
        String worker;

        @Override
        public Integer call() {
            if (!MaintenanceQueue.RETRIABLE.contains(state)) {
                throw new ConfigException("--state " + state.sqlName() + " cannot be retried: "
                        + (state == JobState.RUNNING ? "running jobs have not ended yet" : "available jobs wait to run already")
                        + "; give one of discarded, cancelled, completed, retryable, scheduled");
            }
            try (QueueDatabase queue = QueueCommands.open(database)) {
                int n = queue.maintenance().retryAll(state, worker, BATCH);
                System.out.println(n + " " + state.sqlName() + " job(s)" + (worker == null ? "" : " of worker " + worker)
                        + " available again, to run at once");
            }
            return 0;
        }
    }

    /** {@code backtick jobs show ID}. */
    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one job, with the error of each failed attempt.")
    static final class Show extends OneJob {

        @Override
        void run(QueueDatabase queue) {
            JobView job = queue.jobs().find(id)
                    .orElseThrow(() -> new ConfigException("there is no job " + id));
            PrintStream out = System.out;
            out.println("id:           " + job.id());
            out.println("worker:       " + job.worker());
            out.println("queue:        " + job.queue());
            if (job.key() != null) {
                out.println("key:          " + job.key());
            }
            out.println("state:        " + job.state().sqlName());
            out.println("args:         " + job.argsJson());
            out.println("priority:     " + job.priority());
            out.println("attempt:      " + job.attempt() + " of " + job.maxAttempts());
            out.println("run at:       " + job.runAt());
            out.println("created at:   " + job.createdAt());
            out.println("attempted at: " + (job.attemptedAt() == null ? "-" : job.attemptedAt()));
            out.println("finalized at: " + (job.finalizedAt() == null ? "-" : job.finalizedAt()));
            out.println("runner:       " + (job.runnerId() == null ? "-" : job.runnerId()));
            out.println("errors:       " + job.errorsJson());
        }
    }
}
