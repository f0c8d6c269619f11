package io.backtick.runner.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Option;

/** The root {@code backtick} command: it only holds the subcommands. */
@Command(name = "backtick",
        mixinStandardHelpOptions = true,
        versionProvider = VersionCommand.Provider.class,
        description = "Background jobs on PostgreSQL: run workers, enqueue jobs, look at the queue.",
        subcommands = {
            RunCommand.class,
            EnqueueCommand.class,
            JobsCommand.class,
            SchedulesCommand.class,
            RunnersCommand.class,
            MigrateCommand.class,
            BenchCommand.class,
            VersionCommand.class,
            HelpCommand.class
        },
        footer = {"", "Options not given take their value from BACKTICK_<OPTION> (e.g. BACKTICK_POLL_INTERVAL),",
            "then from the --config file (or BACKTICK_CONFIG), then the default."})
public final class BacktickCommand implements Runnable {

    @Option(names = "--config", paramLabel = "FILE", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "A properties file with options as keys without dashes (threads=8, database-url=…).")
    String config;

    @Option(names = {"-v", "--verbose"}, scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "Log debug lines and show stack traces with errors.")
    boolean verbose;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
