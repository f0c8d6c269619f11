package io.backtick.runner.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The {@code backtick} launcher (packaging/backtick) run by {@code sh} against a stand-in JDK whose
 * {@code java} prints the arguments it was given, one per line.
 */
class LauncherTest {

    private static final Path LAUNCHER = Path.of("..", "packaging", "backtick").toAbsolutePath().normalize();
    private static final String TRIM = "-XX:TrimNativeHeapInterval=60000";

    @TempDir
    Path dir;
    Path jdk;
    Path jar;

    @BeforeEach
    void standInJdk() throws IOException {
        jdk = dir.resolve("jdk");
        Path java = Files.createDirectories(jdk.resolve("bin")).resolve("java");
        Files.writeString(java, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n");
        assertThat(java.toFile().setExecutable(true)).isTrue();
        jar = Files.writeString(dir.resolve("backtick-runner.jar"), "not really a jar");
    }

    @ParameterizedTest(name = "JDK {0}: trims the native heap: {1}")
    @CsvSource({"17.0.15, true", "17.0.9, true", "17.0.8, false", "18.0.2, false", "21, false", "21.0.1, true",
            "22, true", "25.0.3, true", "11.0.20, false"})
    void trimsTheNativeHeapWhereTheJdkCan(String version, boolean trims) throws Exception {
        release(version);

        List<String> args = launch(Map.of("JAVA_HOME", jdk.toString()));

        if (trims) {
            assertThat(args).startsWith("-XX:+UnlockExperimentalVMOptions", TRIM);
        } else {
            assertThat(args).noneMatch(a -> a.contains("TrimNativeHeapInterval") || a.contains("Unlock"));
        }
        assertThat(args).endsWith("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-jar", jar.toString(), "version");
    }

    @Test
    void leavesTrimmingToJavaOptsThatSetIt() throws Exception {
        release("17.0.15");

        List<String> args = launch(Map.of("JAVA_HOME", jdk.toString(), "JAVA_OPTS", "-Xmx1g -XX:TrimNativeHeapInterval=0"));

        assertThat(args).containsExactly("-Xmx1g", "-XX:TrimNativeHeapInterval=0", "-jar", jar.toString(), "version");
    }

    @Test
    void doesNotTrimAJdkWithoutAReleaseFile() throws Exception {
        List<String> args = launch(Map.of("JAVA_HOME", jdk.toString()));

        assertThat(args).containsExactly("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-jar", jar.toString(), "version");
    }

    @Test
    void findsTheReleaseFileOfAJavaOnThePathThroughItsSymlinks() throws Exception {
        release("21.0.8");
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Files.createSymbolicLink(bin.resolve("java"), Path.of("..", "jdk", "bin", "java"));

        List<String> args = launch(Map.of("PATH", bin + ":/usr/bin:/bin"));

        assertThat(args).startsWith("-XX:+UnlockExperimentalVMOptions", TRIM);
    }

    private void release(String version) throws IOException {
        Files.writeString(jdk.resolve("release"), "IMPLEMENTOR=\"Test\"\nJAVA_VERSION=\"" + version + "\"\n");
    }

    private List<String> launch(Map<String, String> env) throws Exception {
        ProcessBuilder launcher = new ProcessBuilder("sh", LAUNCHER.toString(), "version").redirectErrorStream(true);
        launcher.environment().remove("JAVA_HOME");
        launcher.environment().remove("JAVA_OPTS");
        launcher.environment().put("BACKTICK_JAR", jar.toString());
        launcher.environment().putAll(env);
        Process process = launcher.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        return output.lines().toList();
    }
}
