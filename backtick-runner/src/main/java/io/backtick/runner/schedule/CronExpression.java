package io.backtick.runner.schedule;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A six-field cron expression, seconds first, in the dialect of the seed and of Spring 5.3:
 * cron-utils' {@code SPRING53} definition, which reads everything in the seed's table (L, W, LW,
 * L-3, nL, MON#2, day of week 0-7 with 0 and 7 Sunday, month and day names). Two things cron-utils
 * accepts but Spring refuses are refused here too: macros such as {@code @daily}, and wrap-around
 * ranges such as {@code 5-1}.
 */
public final class CronExpression {

    private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.SPRING53));
    private static final List<String> FIELDS = List.of("second", "minute", "hour", "day-of-month", "month", "day-of-week");
    private static final Map<String, Integer> NAMES = Map.ofEntries(
            Map.entry("JAN", 1), Map.entry("FEB", 2), Map.entry("MAR", 3), Map.entry("APR", 4), Map.entry("MAY", 5),
            Map.entry("JUN", 6), Map.entry("JUL", 7), Map.entry("AUG", 8), Map.entry("SEP", 9), Map.entry("OCT", 10),
            Map.entry("NOV", 11), Map.entry("DEC", 12),
            Map.entry("SUN", 0), Map.entry("MON", 1), Map.entry("TUE", 2), Map.entry("WED", 3), Map.entry("THU", 4),
            Map.entry("FRI", 5), Map.entry("SAT", 6));

    private final String text;
    private final ExecutionTime executionTime;

    private CronExpression(String text, ExecutionTime executionTime) {
        this.text = text;
        this.executionTime = executionTime;
    }

    /**
     * Parses {@code text}.
     *
     * @throws InvalidScheduleException saying what is wrong with it
     */
    public static CronExpression parse(String text) {
        String expression = text == null ? "" : text.strip();
        if (expression.startsWith("@")) {
            throw new InvalidScheduleException("macros such as " + expression
                    + " are not supported; write the six fields, e.g. '0 0 0 * * *' for @daily");
        }
        String[] fields = expression.split("\\s+");
        if (fields.length != 6) {
            throw new InvalidScheduleException("has " + fields.length + " field" + (fields.length == 1 ? "" : "s")
                    + ", needs 6: second minute hour day-of-month month day-of-week (e.g. '0 0 14,16 * * *')");
        }
        for (int i = 0; i < fields.length; i++) {
            refuseWrapAround(FIELDS.get(i), fields[i]);
        }
        Cron cron;
        try {
            cron = PARSER.parse(expression);
            cron.validate();
        } catch (IllegalArgumentException e) {
            throw new InvalidScheduleException(oneLine(e.getMessage()));
        }
        return new CronExpression(expression, ExecutionTime.forCron(cron));
    }

    private static void refuseWrapAround(String field, String value) {
        for (String part : value.split(",")) {
            String range = part.contains("/") ? part.substring(0, part.indexOf('/')) : part;
            int dash = range.indexOf('-');
            if (dash <= 0 || dash == range.length() - 1) {
                continue;
            }
            Integer from = number(range.substring(0, dash));
            Integer to = number(range.substring(dash + 1));
            if (from != null && to != null && from > to) {
                throw new InvalidScheduleException("the " + field + " range " + range
                        + " wraps around; split it in two (e.g. '" + range.substring(0, dash) + "-…,…-"
                        + range.substring(dash + 1) + "')");
            }
        }
    }

    private static Integer number(String s) {
        Integer named = NAMES.get(s.toUpperCase(Locale.ROOT));
        if (named != null) {
            return named;
        }
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return null; // L, W, # forms: not a plain range
        }
    }

    /**
     * The first time strictly after {@code after} that the expression names, read in {@code zone}:
     * always a whole second. cron-utils keeps the fraction of {@code after} when only the seconds
     * field moves on ({@code * * * * * *} after 10:00:00.89 gives 10:00:01.89), so it is asked
     * from the whole second that {@code after} falls in, whose next time is the same whole one.
     */
    public Optional<Instant> nextAfter(Instant after, ZoneId zone) {
        return executionTime.nextExecution(ZonedDateTime.ofInstant(after.truncatedTo(ChronoUnit.SECONDS), zone))
                .map(ZonedDateTime::toInstant);
    }

    public String text() {
        return text;
    }

    @Override
    public String toString() {
        return text;
    }

    private static String oneLine(String s) {
        return s == null ? "invalid" : s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
