package io.backtick.runner.queue;

import io.backtick.api.JobState;
import java.util.List;

/**
 * A schedule with what {@code backtick schedules} shows beside it: the state of the job of its
 * last tick, and the live runners that declare it (none: orphaned).
 */
public record ScheduleStatus(ScheduleRow schedule, Long lastJobId, JobState lastJobState, List<String> liveRunners) {
}
