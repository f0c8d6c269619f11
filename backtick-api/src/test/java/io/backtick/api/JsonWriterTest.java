package io.backtick.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class JsonWriterTest {

    enum Colour { RED }

    record Point(int x, int y) {
    }

    record Shape(String name, List<Point> points, Map<String, Object> tags) {
    }

    @Test
    void writesScalars() {
        assertThat(JsonWriter.write(null)).isEqualTo("null");
        assertThat(JsonWriter.write(true)).isEqualTo("true");
        assertThat(JsonWriter.write(42)).isEqualTo("42");
        assertThat(JsonWriter.write(-7L)).isEqualTo("-7");
        assertThat(JsonWriter.write(2.5)).isEqualTo("2.5");
        assertThat(JsonWriter.write(new BigDecimal("1.10"))).isEqualTo("1.10");
        assertThat(JsonWriter.write(Colour.RED)).isEqualTo("\"RED\"");
        assertThat(JsonWriter.write(Instant.parse("2026-01-02T03:04:05Z"))).isEqualTo("\"2026-01-02T03:04:05Z\"");
        assertThat(JsonWriter.write(Duration.ofSeconds(90))).isEqualTo("\"PT1M30S\"");
        UUID id = UUID.randomUUID();
        assertThat(JsonWriter.write(id)).isEqualTo("\"" + id + "\"");
        assertThat(JsonWriter.write(Optional.empty())).isEqualTo("null");
    }

    @Test
    void escapesStrings() {
        assertThat(JsonWriter.write("a\"b\\c\nd\te\u0001\u2028"))
                .isEqualTo("\"a\\\"b\\\\c\\nd\\te\\u0001\\u2028\"");
        assertThat(JsonWriter.write("'; drop table jobs; --")).isEqualTo("\"'; drop table jobs; --\"");
    }

    @Test
    void writesRecordsMapsCollectionsAndArrays() {
        Map<String, Object> tags = new LinkedHashMap<>();
        tags.put("k", 1);
        tags.put("n", null);
        Shape shape = new Shape("tri", List.of(new Point(0, 0), new Point(1, 2)), tags);

        assertThat(JsonWriter.write(shape))
                .isEqualTo("{\"name\":\"tri\",\"points\":[{\"x\":0,\"y\":0},{\"x\":1,\"y\":2}],\"tags\":{\"k\":1,\"n\":null}}");
        assertThat(JsonWriter.write(new int[] {1, 2, 3})).isEqualTo("[1,2,3]");
        assertThat(JsonWriter.write(new Object[] {"a", 1})).isEqualTo("[\"a\",1]");
    }

    @Test
    void passesRawJsonThrough() {
        assertThat(JsonWriter.write(List.of(Json.raw("{\"a\": [1, 2]}")))).isEqualTo("[{\"a\": [1, 2]}]");
    }

    @Test
    void refusesWhatJsonCannotHold() {
        assertThatThrownBy(() -> JsonWriter.write(Double.NaN)).hasMessageContaining("finite");
        assertThatThrownBy(() -> JsonWriter.write(new Object())).hasMessageContaining("pass a record, map, list");
    }

    @Test
    void jobRequestsWrapPositionalArgumentsInAnArray() {
        assertThat(JobRequest.of("log-sum", 3, 4).argsJson()).isEqualTo("[3,4]");
        assertThat(JobRequest.of("nothing").argsJson()).isEqualTo("[]");
        assertThat(JobRequest.ofJson("w", " {\"a\":1} ").argsJson()).isEqualTo("[{\"a\":1}]");
        assertThat(JobRequest.ofJson("w", "[1, 2]").argsJson()).isEqualTo("[1, 2]");
        assertThatThrownBy(() -> JobRequest.of(" ")).hasMessageContaining("must not be blank");
        assertThatThrownBy(() -> JobRequest.of("w").withMaxAttempts(0)).hasMessageContaining("at least 1");
    }
}
