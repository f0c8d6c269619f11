package io.backtick.runner.maintenance;

import io.backtick.runner.queue.MaintenanceQueue;
import io.backtick.runner.queue.MaintenanceQueue.HorizonHolder;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the operator when something in the database keeps PostgreSQL from cleaning up after
 * claims. A claim changes each job it takes, and the job's old row version stays in the claim
 * index until no transaction could still see it. A transaction left open (idle in transaction, a
 * long report, a forgotten prepared transaction, a standby's replication slot) keeps every row
 * version since its snapshot: each claim then passes over the index entries of every job claimed
 * since, and claims slow down the longer it stays (a burn-down of 500,000 jobs ran at half speed
 * with one transaction held open, docs/benchmarks.md). Nothing in the runner's own logs would say
 * why.
 *
 * <p>So every {@link #CHECK_EVERY} the runner lists what holds back the oldest row version the
 * database must keep ({@link MaintenanceQueue#horizonHolders}), and remembers when it first saw
 * each holder with its transaction id. A holder seen with the same id for {@link #WARN_AFTER} is
 * logged once, as one line that names it; when it goes away the runner says so. Short
 * transactions come and go between checks, each with a new id, and are never reported. Every
 * runner watches for itself: each runner's log explains its own claims.
 */
final class HorizonWatch {

    private static final Logger log = LoggerFactory.getLogger(HorizonWatch.class);
    static final Duration CHECK_EVERY = Duration.ofSeconds(15);
    static final Duration WARN_AFTER = Duration.ofMinutes(1);

    private final MaintenanceQueue queue;
    private final InstantSource clock;
    private final Duration warnAfter;
    /** The holders seen at the last check, by key and transaction id. */
    private Map<String, Sighting> seen = new HashMap<>();
    private Instant nextCheck = Instant.MIN;
    private volatile Duration longestHeld = Duration.ZERO;

    /** A holder as first seen, and whether it has been reported. */
    private record Sighting(HorizonHolder holder, Instant firstSeen, boolean reported) {
    }

    /** A holder that has kept the same transaction id for {@code heldFor}, as far as the checks saw. */
    record HeldBack(HorizonHolder holder, Duration heldFor) {
    }

    HorizonWatch(MaintenanceQueue queue, InstantSource clock, Duration warnAfter) {
        this.queue = queue;
        this.clock = clock;
        this.warnAfter = warnAfter;
    }

    /** Checks if {@link #CHECK_EVERY} has passed since the last check. */
    void checkIfDue() {
        Instant now = clock.instant();
        if (now.isBefore(nextCheck)) {
            return;
        }
        nextCheck = now.plus(CHECK_EVERY);
        check();
    }

    /**
     * Lists the holders now, reports those held for {@code warnAfter} that were not reported yet
     * and those reported before that are gone; returns every holder held for {@code warnAfter}.
     */
    List<HeldBack> check() {
        Instant now = clock.instant();
        Map<String, Sighting> current = new HashMap<>();
        List<HeldBack> held = new ArrayList<>();
        Duration longest = Duration.ZERO;
        for (HorizonHolder holder : queue.horizonHolders()) {
            String id = holder.key() + "@" + holder.transaction();
            Sighting before = seen.get(id);
            Sighting sighting = before != null ? before : new Sighting(holder, now, false);
            Duration heldFor = Duration.between(sighting.firstSeen(), now);
            if (heldFor.compareTo(longest) > 0) {
                longest = heldFor;
            }
            if (heldFor.compareTo(warnAfter) >= 0) {
                held.add(new HeldBack(holder, heldFor));
                if (!sighting.reported()) {
                    log.warn("PostgreSQL cannot clean up after claims while {} keeps rows as old as transaction {} "
                            + "({} so far): claims slow down as they pass over every job claimed since; "
                            + "end that transaction if it is not needed",
                            holder.description(), holder.xid(), words(heldFor));
                    sighting = new Sighting(holder, sighting.firstSeen(), true);
                }
            }
            current.put(id, sighting);
        }
        for (Map.Entry<String, Sighting> gone : seen.entrySet()) {
            Sighting sighting = gone.getValue();
            if (sighting.reported() && !current.containsKey(gone.getKey())) {
                log.info("PostgreSQL can clean up after claims again: {} no longer keeps rows as old as transaction {} "
                        + "(kept for at least {})",
                        sighting.holder().description(), sighting.holder().xid(),
                        words(Duration.between(sighting.firstSeen(), now)));
            }
        }
        seen = current;
        longestHeld = longest;
        return held;
    }

    /** How long the longest-standing holder has kept its transaction id, as far as the checks saw (zero if none). */
    Duration longestHeld() {
        return longestHeld;
    }

    private static String words(Duration d) {
        long seconds = d.toSeconds();
        if (seconds < 120) {
            return seconds + " s";
        }
        long minutes = d.toMinutes();
        return minutes < 120 ? minutes + " min" : d.toHours() + " h " + d.toMinutesPart() + " min";
    }
}
