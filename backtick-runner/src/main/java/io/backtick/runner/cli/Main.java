package io.backtick.runner.cli;

import ch.qos.logback.classic.Level;
import io.backtick.api.BacktickException;
import io.backtick.runner.config.ConfigDefaults;
import io.backtick.runner.config.ConfigException;
import io.backtick.runner.embedded.EmbeddedDatabaseException;
import io.backtick.runner.plugin.PluginException;
import io.backtick.runner.queue.DatabaseUnavailableException;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code backtick} command. Errors a user can cause come out as one line on stderr and a
 * non-zero exit code (1 for a failure, 2 for a command line that does not parse); the stack
 * trace only with {@code --verbose}.
 */
public final class Main {

    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;

    private static volatile ConfigDefaults defaults = new ConfigDefaults(System.getenv(), new java.util.Properties());

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command and returns its exit code, without exiting (tests call this). */
    public static int run(String... args) {
        // jOOQ prints a banner and tips on first use otherwise.
        System.setProperty("org.jooq.no-logo", "true");
        System.setProperty("org.jooq.no-tips", "true");
        List<String> argList = Arrays.asList(args);
        boolean verbose = argList.contains("--verbose") || argList.contains("-v");
        if (verbose) {
            ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.backtick")).setLevel(Level.DEBUG);
        }
        PrintWriter err = new PrintWriter(System.err, true);
        try {
            defaults = ConfigDefaults.load(configFlag(args), System.getenv());
        } catch (ConfigException e) {
            err.println("backtick: " + e.getMessage());
            return EXIT_USAGE;
        }
        CommandLine cli = commandLine();
        cli.setErr(err);
        cli.setParameterExceptionHandler((ParameterException e, String[] a) -> {
            CommandLine failed = e.getCommandLine();
            String message = e.getMessage();
            if (e instanceof UnmatchedArgumentException unmatched && !unmatched.getSuggestions().isEmpty()) {
                message += " (did you mean " + String.join(" or ", unmatched.getSuggestions()) + "?)";
            }
            failed.getErr().println("backtick: " + message);
            failed.getErr().println("Try '" + failed.getCommandSpec().qualifiedName() + " --help' for usage.");
            return EXIT_USAGE;
        });
        cli.setExecutionExceptionHandler((e, failed, parseResult) -> {
            failed.getErr().println("backtick: " + describe(e));
            if (verbose) {
                e.printStackTrace(failed.getErr());
            } else if (!isExpected(e)) {
                failed.getErr().println("(run with --verbose for the stack trace)");
            }
            return EXIT_FAILURE;
        });
        return cli.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new BacktickCommand());
        BenchCommand.describeSchemaOption(cli);
        cli.setDefaultValueProvider(defaults);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        return cli;
    }

    /** Where options not on the command line come from: the environment and the config file. */
    static ConfigDefaults defaults() {
        return defaults;
    }

    private static String configFlag(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                return args[i + 1];
            }
            if (args[i].startsWith("--config=")) {
                return args[i].substring("--config=".length());
            }
        }
        return null;
    }

    private static boolean isExpected(Throwable e) {
        return e instanceof ConfigException || e instanceof PluginException || e instanceof DatabaseUnavailableException
                || e instanceof EmbeddedDatabaseException || e instanceof BacktickException
                || e instanceof IllegalArgumentException;
    }

    private static String describe(Throwable e) {
        if (isExpected(e)) {
            return oneLine(e.getMessage());
        }
        return "unexpected error: " + oneLine(e.toString());
    }

    private static String oneLine(String s) {
        if (s == null) {
            return "";
        }
        return s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
