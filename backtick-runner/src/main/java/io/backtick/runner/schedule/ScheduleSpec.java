package io.backtick.runner.schedule;

import io.backtick.api.Schedule;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Locale;
import java.util.Optional;

/**
 * A schedule as the runner works with it and as it is stored: its kind, its spec (the interval in
 * milliseconds, or the cron expression), the zone cron times are read in, and what to do with
 * missed ticks. Computes ticks.
 */
public record ScheduleSpec(String name, Schedule.Kind kind, String spec, ZoneId zone, Schedule.Missed missed,
                           Duration interval, CronExpression cron) {

    /**
     * Ticks more than this late count as missed (the runners were down): they follow the
     * schedule's missed-tick policy instead of being caught up one by one.
     */
    public static final Duration MISSED_AFTER = Duration.ofMinutes(1);

    /** Resolves what a plugin declared, taking {@code defaultZone} when it names none. */
    public static ScheduleSpec of(String name, Schedule schedule, ZoneId defaultZone) {
        ZoneId zone = schedule.zone().orElse(defaultZone);
        if (schedule.kind() == Schedule.Kind.INTERVAL) {
            Duration interval = schedule.interval().orElseThrow();
            return new ScheduleSpec(name, Schedule.Kind.INTERVAL, Long.toString(interval.toMillis()), zone,
                    schedule.missed(), interval, null);
        }
        String expression = schedule.expression().orElseThrow();
        try {
            return new ScheduleSpec(name, Schedule.Kind.CRON, expression, zone, schedule.missed(), null,
                    CronExpression.parse(expression));
        } catch (InvalidScheduleException e) {
            throw new InvalidScheduleException("schedule '" + name + "': cron expression '" + expression + "' "
                    + e.getMessage());
        }
    }

    /** Reads a schedule as stored in the database. */
    public static ScheduleSpec stored(String name, String kind, String spec, String zone, String missed) {
        ZoneId zoneId;
        try {
            zoneId = ZoneId.of(zone);
        } catch (DateTimeException e) {
            throw new InvalidScheduleException("schedule '" + name + "': unknown time zone '" + zone + "'");
        }
        Schedule.Missed policy = Schedule.Missed.valueOf(missed.toUpperCase(Locale.ROOT));
        Schedule schedule = kind.equals("interval")
                ? Schedule.every(Duration.ofMillis(Long.parseLong(spec)))
                : Schedule.cron(spec);
        return of(name, schedule.inZone(zoneId).onMissed(policy), zoneId);
    }

    /** The kind as stored: {@code interval} or {@code cron}. */
    public String kindName() {
        return kind.name().toLowerCase(Locale.ROOT);
    }

    /** The missed-tick policy as stored: {@code run_once} or {@code skip}. */
    public String missedName() {
        return missed.name().toLowerCase(Locale.ROOT);
    }

    /** The spec as people read it: {@code every 5m} or the cron expression. */
    public String describe() {
        return kind == Schedule.Kind.INTERVAL ? "every " + io.backtick.runner.config.Durations.format(interval) : spec;
    }

    /**
     * The first tick of a schedule first seen at {@code now}: one interval later, or the cron's
     * next time after now.
     */
    public Optional<Instant> firstTick(Instant now) {
        return kind == Schedule.Kind.INTERVAL ? Optional.of(now.plus(interval)) : cron.nextAfter(now, zone);
    }

    /** The tick after {@code tick}. */
    public Optional<Instant> nextAfter(Instant tick) {
        return kind == Schedule.Kind.INTERVAL ? Optional.of(tick.plus(interval)) : cron.nextAfter(tick, zone);
    }

    /**
     * The first tick after {@code now} on this schedule's grid: for an interval, {@code tick} plus
     * as many whole intervals as it takes; for a cron, its next time after now.
     */
    public Optional<Instant> nextAfterNow(Instant tick, Instant now) {
        if (kind == Schedule.Kind.CRON) {
            return cron.nextAfter(now, zone);
        }
        long behind = Duration.between(tick, now).toMillis();
        long step = interval.toMillis();
        long steps = behind < 0 ? 1 : behind / step + 1;
        return Optional.of(tick.plusMillis(steps * step));
    }
}
