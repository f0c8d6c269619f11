package io.backtick.runner.testsupport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Finds the embedded PostgreSQL a runner started on a data directory. The postmaster is not a
 * child of the runner's JVM that survives it (zonky starts it through pg_ctl), so killing a
 * runner can leave it running; its pid is on the first line of {@code postmaster.pid}, which
 * PostgreSQL removes when it stops cleanly.
 */
public final class EmbeddedPostgresProcesses {

    private EmbeddedPostgresProcesses() {
    }

    /** The live postmaster serving {@code postgresDataDir}, if any. */
    public static Optional<ProcessHandle> running(Path postgresDataDir) {
        Path pidFile = postgresDataDir.resolve("postmaster.pid");
        if (!Files.isRegularFile(pidFile)) {
            return Optional.empty();
        }
        long pid;
        try {
            List<String> lines = Files.readAllLines(pidFile);
            if (lines.isEmpty()) {
                return Optional.empty();
            }
            pid = Long.parseLong(lines.get(0).strip());
        } catch (IOException | NumberFormatException e) {
            return Optional.empty(); // being written or removed right now
        }
        // The pid may have been reused since a crash: only a postgres process counts.
        return ProcessHandle.of(pid)
                .filter(ProcessHandle::isAlive)
                .filter(p -> p.info().command().map(c -> c.endsWith("postgres")).orElse(false));
    }

    /**
     * Stops the postmaster serving {@code postgresDataDir}, if one runs: SIGTERM, then SIGKILL after
     * 10 s. Returns whether there was one.
     */
    public static boolean stop(Path postgresDataDir) {
        Optional<ProcessHandle> postmaster = running(postgresDataDir);
        if (postmaster.isEmpty()) {
            return false;
        }
        ProcessHandle handle = postmaster.get();
        handle.destroy();
        try {
            handle.onExit().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            handle.destroyForcibly();
        }
        return true;
    }
}
