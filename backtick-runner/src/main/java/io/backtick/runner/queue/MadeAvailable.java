package io.backtick.runner.queue;

import java.time.OffsetDateTime;
import org.jooq.Record;

/**
 * What a statement that changed jobs' states without inserting them did: how many jobs it
 * changed, and where those of them it made available start in claim order ({@code start}: null
 * when it made none available). It announced that point on the queue's channel in the same
 * statement ({@code V8__announce_jobs_made_available.sql}), so every listening runner claims
 * from there, as it does for an insert; a stage announces it in a statement of its own
 * ({@link JobQueue#announce}).
 */
public record MadeAvailable(int jobs, JobQueue.ClaimPosition start) {

    /**
     * The select that ends a statement whose changed rows are the common table expression
     * {@code rows} (returning {@code state}, {@code priority} and {@code run_at}): one row for
     * {@link #of(Record)}, and the announcement of where the available ones start.
     */
    static String announcing(String rows) {
        return announcing(rows, "");
    }

    /** {@link #announcing(String)} with more columns over {@code rows} ({@code columns}: empty, or each led by a comma). */
    static String announcing(String rows, String columns) {
        return counting(rows, columns + ",\n       backtick_announce_available(current_schema(), " + TOP_PRIORITY + ", " + EARLIEST + ")");
    }

    /** {@link #announcing(String, String)} without the announcement: the caller makes it apart ({@link JobQueue#announce}). */
    static String counting(String rows, String columns) {
        return "select count(*)::int as jobs, " + TOP_PRIORITY + " as top_priority, " + EARLIEST + " as earliest" + columns
                + "\nfrom " + rows + "\n";
    }

    private static final String TOP_PRIORITY = "max(priority) filter (where state = 'available')";
    private static final String EARLIEST = "min(run_at) filter (where state = 'available')";

    static MadeAvailable of(Record row) {
        Integer priority = row.get("top_priority", Integer.class);
        OffsetDateTime earliest = row.get("earliest", OffsetDateTime.class);
        // Id 0 comes before every job's id: a claim from this point takes the jobs at that run_at too.
        return new MadeAvailable(row.get("jobs", Integer.class),
                priority == null ? null : new JobQueue.ClaimPosition(priority, earliest, 0));
    }
}
