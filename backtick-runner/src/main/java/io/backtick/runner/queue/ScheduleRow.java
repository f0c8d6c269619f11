package io.backtick.runner.queue;

import java.time.Instant;

/** A schedule as stored. */
public record ScheduleRow(String name, String kind, String spec, String zone, String missed, boolean paused,
                          Instant nextRunAt, Instant lastRunAt) {
}
