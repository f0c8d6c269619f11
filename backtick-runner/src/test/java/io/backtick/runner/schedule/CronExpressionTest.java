package io.backtick.runner.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The seed's cron table, feature by feature, read as Spring 5.3 reads it. */
class CronExpressionTest {

    private static List<Instant> next(String expression, String after, int count, ZoneId zone) {
        CronExpression cron = CronExpression.parse(expression);
        List<Instant> times = new ArrayList<>();
        Instant t = Instant.parse(after);
        for (int i = 0; i < count; i++) {
            t = cron.nextAfter(t, zone).orElseThrow();
            times.add(t);
        }
        return times;
    }

    private static List<Instant> utc(String... times) {
        return java.util.Arrays.stream(times).map(Instant::parse).toList();
    }

    @ParameterizedTest(name = "{0} after {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            0 0 14,16 * * *        | 2026-11-28T10:00:00Z | 2026-11-28T14:00:00Z, 2026-11-28T16:00:00Z, 2026-11-29T14:00:00Z
            */15 * * * * *         | 2026-11-28T10:00:07Z | 2026-11-28T10:00:15Z, 2026-11-28T10:00:30Z, 2026-11-28T10:00:45Z
            30 5-7 * * * *         | 2026-11-28T10:00:00Z | 2026-11-28T10:05:30Z, 2026-11-28T10:06:30Z, 2026-11-28T10:07:30Z
            0 0 12 L * *           | 2026-01-15T00:00:00Z | 2026-01-31T12:00:00Z, 2026-02-28T12:00:00Z, 2026-03-31T12:00:00Z
            0 0 12 L-3 * *         | 2026-01-01T00:00:00Z | 2026-01-28T12:00:00Z, 2026-02-25T12:00:00Z, 2026-03-28T12:00:00Z
            0 0 9 15W * *          | 2026-02-01T00:00:00Z | 2026-02-16T09:00:00Z, 2026-03-16T09:00:00Z, 2026-04-15T09:00:00Z
            0 0 9 LW * *           | 2026-01-01T00:00:00Z | 2026-01-30T09:00:00Z, 2026-02-27T09:00:00Z, 2026-03-31T09:00:00Z
            0 0 0 1 JAN,JUL *      | 2026-03-01T00:00:00Z | 2026-07-01T00:00:00Z, 2027-01-01T00:00:00Z, 2027-07-01T00:00:00Z
            0 0 0 1 6-7 *          | 2026-03-01T00:00:00Z | 2026-06-01T00:00:00Z, 2026-07-01T00:00:00Z, 2027-06-01T00:00:00Z
            0 0 8 * * 0            | 2026-11-28T00:00:00Z | 2026-11-29T08:00:00Z, 2026-12-06T08:00:00Z, 2026-12-13T08:00:00Z
            0 0 8 * * 7            | 2026-11-28T00:00:00Z | 2026-11-29T08:00:00Z, 2026-12-06T08:00:00Z, 2026-12-13T08:00:00Z
            0 0 8 * * SUN          | 2026-11-28T00:00:00Z | 2026-11-29T08:00:00Z, 2026-12-06T08:00:00Z, 2026-12-13T08:00:00Z
            0 0 8 * * MON-FRI      | 2026-11-27T09:00:00Z | 2026-11-30T08:00:00Z, 2026-12-01T08:00:00Z, 2026-12-02T08:00:00Z
            0 0 18 * * 5L          | 2026-11-01T00:00:00Z | 2026-11-27T18:00:00Z, 2026-12-25T18:00:00Z, 2027-01-29T18:00:00Z
            0 0 10 * * MON#2       | 2026-11-01T00:00:00Z | 2026-11-09T10:00:00Z, 2026-12-14T10:00:00Z, 2027-01-11T10:00:00Z
            """)
    void readsEachFeatureOfTheSeedsTable(String expression, String after, String expected) {
        assertThat(next(expression, after, 3, ZoneOffset.UTC)).containsExactlyElementsOf(utc(expected.split(",\\s*")));
    }

    @Test
    void springForwardSkipsTheMissingHourAndFallBackRunsOnce() {
        ZoneId berlin = ZoneId.of("Europe/Berlin");
        // 2026-03-29: 02:00 local does not exist (clocks jump to 03:00). The daily 02:30 run moves on.
        assertThat(next("0 30 2 * * *", "2026-03-28T00:00:00Z", 2, berlin))
                .containsExactlyElementsOf(utc("2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"));
        // 2026-10-25: 02:00-03:00 local happens twice; a 02:30 run happens once.
        assertThat(next("0 30 2 * * *", "2026-10-24T12:00:00Z", 2, berlin))
                .containsExactlyElementsOf(utc("2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"));
        // Hourly runs stay one hour apart in real time across the change.
        assertThat(next("0 0 * * * *", "2026-03-29T00:30:00Z", 3, berlin))
                .containsExactlyElementsOf(utc("2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z", "2026-03-29T03:00:00Z"));
    }

    @ParameterizedTest(name = "{0} after {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            * * * * * *            | 2026-11-30T09:01:18.891690Z | 2026-11-30T09:01:19Z, 2026-11-30T09:01:20Z, 2026-11-30T09:01:21Z
            * 5 * * * *            | 2026-11-30T09:05:58.5Z      | 2026-11-30T09:05:59Z, 2026-11-30T10:05:00Z, 2026-11-30T10:05:01Z
            */15 * * * * *         | 2026-11-30T09:00:14.999Z    | 2026-11-30T09:00:15Z, 2026-11-30T09:00:30Z, 2026-11-30T09:00:45Z
            0 0 14 * * *           | 2026-11-30T13:59:59.999999Z | 2026-11-30T14:00:00Z, 2026-12-01T14:00:00Z, 2026-12-02T14:00:00Z
            """)
    void ticksFallOnWholeSecondsWhateverTheFractionOfTheTimeAfter(String expression, String after, String expected) {
        assertThat(next(expression, after, 3, ZoneOffset.UTC)).containsExactlyElementsOf(utc(expected.split(",\\s*")));
    }

    @Test
    void theZoneDecidesWhenTheAfternoonIs() {
        assertThat(next("0 0 14,16 * * *", "2026-11-28T00:00:00Z", 2, ZoneId.of("America/New_York")))
                .containsExactlyElementsOf(utc("2026-11-28T19:00:00Z", "2026-11-28T21:00:00Z"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
            @daily              | macros such as @daily are not supported
            0 0 * * *           | has 5 fields, needs 6
            0 0 0 * * 5-1       | day-of-week range 5-1 wraps around
            0 0 0 * NOV-FEB *   | month range NOV-FEB wraps around
            61 * * * * *        | 61
            0 0 25 * * *        | 25
            nonsense            | has 1 field, needs 6
            0 0 0 * * FUNDAY    | FUNDAY
            """)
    void refusesWhatSpringRefusesWithAMessageThatSaysWhy(String expression, String message) {
        assertThatThrownBy(() -> CronExpression.parse(expression))
                .isInstanceOf(InvalidScheduleException.class)
                .hasMessageContaining(message);
    }

    @Test
    void aScheduleNamesItselfInTheError() {
        assertThatThrownBy(() -> ScheduleSpec.of("nightly", io.backtick.api.Schedule.cron("0 0 0 * * 5-1"), ZoneOffset.UTC))
                .hasMessageStartingWith("schedule 'nightly': cron expression '0 0 0 * * 5-1'");
    }
}
