package io.backtick.runner.engine;

import io.backtick.runner.queue.ClaimedJob;
import io.backtick.runner.queue.Outcome;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The jobs this runner holds: claimed by its producer and not yet with their outcome written by
 * its completer. Whatever the database shows running under this runner's id and is not here has
 * never reached it: a claim that committed while its reply was lost with the connection. The
 * maintenance loop hands such jobs back (a heartbeat keeps the rescuer from ever taking them).
 */
public final class HeldJobs {

    private final Set<Long> ids = ConcurrentHashMap.newKeySet();

    void claimed(Collection<ClaimedJob> jobs) {
        for (ClaimedJob job : jobs) {
            ids.add(job.id());
        }
    }

    void written(Collection<Outcome> outcomes) {
        for (Outcome outcome : outcomes) {
            ids.remove(outcome.jobId());
        }
    }

    public boolean holds(long jobId) {
        return ids.contains(jobId);
    }

    public int size() {
        return ids.size();
    }
}
