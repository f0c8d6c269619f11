package io.backtick.api;

import java.time.Duration;
import java.time.ZoneId;
import java.util.Objects;
import java.util.Optional;

/**
 * When a scheduled worker runs: every fixed interval (the seed's {@code define-recurring}) or at
 * the times a cron expression names (the seed's {@code define-cron}). Immutable.
 *
 * <p>Cron expressions have six fields, seconds first, as in the seed and Spring:
 * {@code second minute hour day-of-month month day-of-week}. {@code "0 0 14,16 * * *"} runs at
 * 14:00:00 and 16:00:00. Day of month takes {@code 1-31}, {@code L}, {@code W}, {@code LW},
 * {@code L-3}; month {@code 1-12} or names; day of week {@code 0-7} (0 and 7 are Sunday) or names,
 * with {@code 5L} (last Friday) and {@code MON#2} (second Monday). Macros such as {@code @daily}
 * and wrap-around ranges such as {@code 5-1} are refused, as Spring refuses them.
 */
public final class Schedule {

    /** What to do with ticks that passed while no runner served the schedule. */
    public enum Missed {
        /** Run once for the whole missed window, then go on with the next tick (the default). */
        RUN_ONCE,
        /** Skip them; go on with the next tick. */
        SKIP
    }

    /** The kinds of schedule. */
    public enum Kind {
        INTERVAL,
        CRON
    }

    private final Kind kind;
    private final Duration interval;
    private final String expression;
    private final ZoneId zone;
    private final Missed missed;

    private Schedule(Kind kind, Duration interval, String expression, ZoneId zone, Missed missed) {
        this.kind = kind;
        this.interval = interval;
        this.expression = expression;
        this.zone = zone;
        this.missed = Objects.requireNonNull(missed, "missed");
    }

    /** Runs every {@code interval}, the first time one interval after the schedule is first seen. */
    public static Schedule every(Duration interval) {
        Objects.requireNonNull(interval, "interval");
        if (interval.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("a recurring interval must be at least 1 second, was " + interval);
        }
        return new Schedule(Kind.INTERVAL, interval, null, null, Missed.RUN_ONCE);
    }

    /** Runs at the times the six-field cron expression names, in the runner's schedule zone unless {@link #inZone}. */
    public static Schedule cron(String expression) {
        Objects.requireNonNull(expression, "expression");
        if (expression.isBlank()) {
            throw new IllegalArgumentException("a cron expression must not be blank");
        }
        return new Schedule(Kind.CRON, null, expression.strip(), null, Missed.RUN_ONCE);
    }

    /** The time zone cron times are read in (daylight-saving changes included). */
    public Schedule inZone(ZoneId zone) {
        return new Schedule(kind, interval, expression, Objects.requireNonNull(zone, "zone"), missed);
    }

    public Schedule onMissed(Missed missed) {
        return new Schedule(kind, interval, expression, zone, missed);
    }

    public Kind kind() {
        return kind;
    }

    /** The interval of an {@link Kind#INTERVAL} schedule. */
    public Optional<Duration> interval() {
        return Optional.ofNullable(interval);
    }

    /** The expression of a {@link Kind#CRON} schedule. */
    public Optional<String> expression() {
        return Optional.ofNullable(expression);
    }

    /** The zone asked for, or empty for the runner's default. */
    public Optional<ZoneId> zone() {
        return Optional.ofNullable(zone);
    }

    public Missed missed() {
        return missed;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Schedule other && kind == other.kind && Objects.equals(interval, other.interval)
                && Objects.equals(expression, other.expression) && Objects.equals(zone, other.zone)
                && missed == other.missed;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, interval, expression, zone, missed);
    }

    @Override
    public String toString() {
        return (kind == Kind.INTERVAL ? "every " + interval : "cron '" + expression + "'")
                + (zone == null ? "" : " in " + zone) + (missed == Missed.SKIP ? ", skipping missed ticks" : "");
    }
}
