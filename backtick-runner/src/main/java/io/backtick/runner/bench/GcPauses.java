package io.backtick.runner.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import com.sun.management.GcInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * The stop-the-world pauses of this JVM's garbage collectors while it listens, as windows of
 * {@link System#nanoTime()}, so that continuous mode can tell the jobs that waited through a pause
 * from those that waited for something else.
 *
 * <p>The collectors report each collection once it has ended, with its start and end in whole
 * milliseconds since the JVM finished starting (not since it began: {@code RuntimeMXBean}'s uptime
 * counts from earlier, 36 ms earlier in one test run, so it cannot place them). Where that moment
 * lies in {@code nanoTime} is learnt from the reports themselves: each arrives after the
 * collection it reports has ended, so arrival less the reported end is never earlier than that
 * moment, and the least of these over all reports is later than it by no more than the quickest
 * report's delivery. {@link #PAD_NANOS} on either side of a pause covers the whole milliseconds
 * and that delivery. Collectors that work alongside the program rather than stopping it (G1's
 * concurrent cycle, ZGC's and Shenandoah's cycles) are left out: a cycle is not a pause. Their
 * pauses proper are reported by the other collectors beside them.
 */
final class GcPauses implements AutoCloseable {

    /** Slack on either side of a reported pause: the reports and the conversion are whole milliseconds. */
    static final long PAD_NANOS = 1_000_000;

    /** Collections as reported: start and end in milliseconds since the JVM finished starting. */
    private final List<long[]> reported = new ArrayList<>();
    /** Where {@code System.nanoTime()} stood when the JVM finished starting, at the latest; see above. */
    private long startedAtNanos = Long.MAX_VALUE;
    private final List<NotificationEmitter> emitters = new ArrayList<>();
    private final NotificationListener listener = this::collected;

    /** One pause, from start to end, in nanoTime. */
    record Pause(long startNanos, long endNanos) {

        double millis() {
            return (endNanos - startNanos) / 1e6;
        }
    }

    private GcPauses() {
    }

    /** Starts listening to every collector that stops the program. */
    static GcPauses listen() {
        GcPauses gc = new GcPauses();
        for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (collector instanceof NotificationEmitter emitter && stopsTheProgram(collector.getName())) {
                emitter.addNotificationListener(gc.listener, null, null);
                gc.emitters.add(emitter);
            }
        }
        return gc;
    }

    /** Whether a collector's collections are pauses: its name does not say it runs alongside. */
    static boolean stopsTheProgram(String collectorName) {
        String name = collectorName.toLowerCase(Locale.ROOT);
        return !name.contains("concurrent") && !name.contains("cycles");
    }

    private void collected(Notification notification, Object handback) {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(notification.getType())) {
            return;
        }
        long arrived = System.nanoTime();
        GcInfo info = GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData()).getGcInfo();
        long end = Math.max(info.getEndTime(), info.getStartTime());
        synchronized (reported) {
            reported.add(new long[] {info.getStartTime(), end});
            startedAtNanos = Math.min(startedAtNanos, arrived - end * 1_000_000);
        }
    }

    /** The pauses that ended after {@code fromNanos} and started before {@code toNanos}, oldest first. */
    List<Pause> between(long fromNanos, long toNanos) {
        List<Pause> found = new ArrayList<>();
        synchronized (reported) {
            for (long[] r : reported) {
                Pause p = new Pause(startedAtNanos + r[0] * 1_000_000, startedAtNanos + r[1] * 1_000_000);
                if (p.endNanos() >= fromNanos && p.startNanos() <= toNanos) {
                    found.add(p);
                }
            }
        }
        found.sort((a, b) -> Long.compare(a.startNanos(), b.startNanos()));
        return found;
    }

    @Override
    public void close() {
        for (NotificationEmitter emitter : emitters) {
            try {
                emitter.removeNotificationListener(listener);
            } catch (ListenerNotFoundException e) {
                // already gone: nothing to undo
            }
        }
        emitters.clear();
    }
}
