package io.backtick.runner.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Runs the shaded {@code backtick-runner.jar} as a child process, the way a user would: the same
 * JDK as the test, a small heap, and an environment the test controls. The inherited
 * {@code BACKTICK_*} and {@code DATABASE_URL} variables are removed first, so a developer's shell
 * (or CI's {@code BACKTICK_TEST_JDBC_URL}) never leaks into what the child sees. Immutable: the
 * {@code with…} methods return a new instance.
 */
public final class BacktickCli {

    /** The system property failsafe sets to the shaded jar. */
    public static final String JAR_PROPERTY = "backtick.jar";
    /** The system property failsafe sets to the folder holding the example plugin jar. */
    public static final String EXAMPLES_PROPERTY = "backtick.examples.plugins";

    private static final List<String> JVM_OPTIONS = List.of("-Xmx256m");

    private final Path jar;
    private final Path workingDir;
    private final Map<String, String> env;

    private BacktickCli(Path jar, Path workingDir, Map<String, String> env) {
        this.jar = jar;
        this.workingDir = workingDir;
        this.env = Map.copyOf(env);
    }

    /** The jar named by {@value #JAR_PROPERTY}, run in the test's working directory with a clean environment. */
    public static BacktickCli fromSystemProperties() {
        Path jar = Path.of(requiredProperty(JAR_PROPERTY));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " does not exist: build it with 'mvn package' (failsafe runs after shade)");
        }
        return new BacktickCli(jar, null, Map.of());
    }

    /** The folder that holds the example plugin jar (worker {@code log-sum}). */
    public static Path examplePlugins() {
        Path dir = Path.of(requiredProperty(EXAMPLES_PROPERTY));
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException(dir + " does not exist: build the examples module first");
        }
        return dir;
    }

    /** The same, with one more environment variable for the child. */
    public BacktickCli withEnv(String name, String value) {
        Map<String, String> more = new LinkedHashMap<>(env);
        more.put(name, Objects.requireNonNull(value, name));
        return new BacktickCli(jar, workingDir, more);
    }

    /** The same, with the child processes started in {@code dir}. */
    public BacktickCli inDirectory(Path dir) {
        return new BacktickCli(jar, dir, env);
    }

    /** Starts a long-running command, typically {@code run}; the caller closes it. */
    public RunnerProcess start(String... args) {
        ProcessBuilder builder = processBuilder(args).redirectErrorStream(true);
        try {
            return new RunnerProcess(builder.start(), String.join(" ", args));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + builder.command(), e);
        }
    }

    /**
     * Runs a one-shot command to its end and returns what it printed.
     *
     * @throws AssertionError when it has not exited within {@code timeout} (it is killed first)
     */
    public Result run(Duration timeout, String... args) {
        ProcessBuilder builder = processBuilder(args);
        Path out = null;
        Path err = null;
        try {
            // Files, not pipes: nothing has to drain them while the child runs, so it can never block on a full pipe.
            out = Files.createTempFile("backtick-cli-", ".out");
            err = Files.createTempFile("backtick-cli-", ".err");
            builder.redirectOutput(out.toFile()).redirectError(err.toFile());
            Process process = builder.start();
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    throw new AssertionError("'backtick " + String.join(" ", args) + "' did not exit within " + timeout
                            + "\nstdout:\n" + Files.readString(out) + "\nstderr:\n" + Files.readString(err));
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + builder.command(), e);
            }
            return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + builder.command(), e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    private ProcessBuilder processBuilder(String... args) {
        List<String> command = new ArrayList<>();
        command.add(javaExecutable());
        command.addAll(JVM_OPTIONS);
        command.add("-jar");
        command.add(jar.toString());
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        Map<String, String> childEnv = builder.environment();
        childEnv.keySet().removeIf(name -> name.startsWith("BACKTICK_") || name.equals("DATABASE_URL"));
        childEnv.putAll(env);
        if (workingDir != null) {
            builder.directory(workingDir.toFile());
        }
        return builder;
    }

    /** The java of the JVM running the tests, so the child runs on the same JDK. */
    private static String javaExecutable() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String requiredProperty(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + name + " is not set; run the end-to-end tests "
                    + "with 'mvn verify' (failsafe sets it)");
        }
        return value;
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a temp file; the OS cleans up eventually
        }
    }

    /** What a one-shot command did. */
    public record Result(int exitCode, String stdout, String stderr) {

        @Override
        public String toString() {
            return "exit code " + exitCode + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr;
        }
    }
}
