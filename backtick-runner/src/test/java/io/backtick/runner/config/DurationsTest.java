package io.backtick.runner.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

    @Test
    void millisecondsSecondsMinutesHoursAndDays() {
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(Durations.parse("2h")).isEqualTo(Duration.ofHours(2));
        assertThat(Durations.parse("1d")).isEqualTo(Duration.ofDays(1));
    }

    @Test
    void isoEightySixOhOne() {
        assertThat(Durations.parse("PT1S")).isEqualTo(Duration.ofSeconds(1));
        assertThat(Durations.parse("pt1m30s")).isEqualTo(Duration.ofSeconds(90));
    }

    @ParameterizedTest
    @ValueSource(strings = {"soon", "", "5", "5 weeks", "-5s", "1.5s", "PTx"})
    void badInputSaysHowToWriteADuration(String text) {
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(ConfigException.class)
                .hasMessage("'" + text + "' is not a duration: write it like 500ms, 30s, 5m, 2h or 1d");
    }
}
