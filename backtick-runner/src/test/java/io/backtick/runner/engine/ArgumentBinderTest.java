package io.backtick.runner.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.backtick.api.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

class ArgumentBinderTest {

    record Sum(long x, long y) {
    }

    record Item(String sku, int quantity) {
    }

    record Order(String id, Item item) {
    }

    record Wrapper(Item item) {
    }

    record Positive(int n) {
        Positive {
            if (n <= 0) {
                throw new IllegalArgumentException("n must be positive, was " + n);
            }
        }
    }

    private final ArgumentBinder binder = new ArgumentBinder();

    @Test
    void positionalArgumentsFillRecordComponentsInOrder() throws Exception {
        assertThat(binder.bind("[3, 4]", Sum.class)).isEqualTo(new Sum(3, 4));
    }

    @Test
    void singleObjectBindsRecordComponentsByName() throws Exception {
        assertThat(binder.bind("[{\"y\": 4, \"x\": 3}]", Sum.class)).isEqualTo(new Sum(3, 4));
        assertThat(binder.bind("{\"x\": 3, \"y\": 4}", Sum.class)).isEqualTo(new Sum(3, 4));
    }

    @Test
    void wrongArgumentCountNamesTheExpectedArguments() {
        assertThatThrownBy(() -> binder.bind("[1, 2, 3]", Sum.class))
                .isInstanceOf(ArgumentBindingException.class)
                .hasMessageContaining("takes 2 arguments")
                .hasMessageContaining("long x, long y")
                .hasMessageContaining("has 3");
    }

    @Test
    void wrongTypeNamesTheArgument() {
        assertThatThrownBy(() -> binder.bind("[\"a\", 4]", Sum.class))
                .isInstanceOf(ArgumentBindingException.class)
                .hasMessageContaining("argument 1 (x)")
                .hasMessageContaining("\"a\"")
                .hasMessageContaining("does not bind to long");
    }

    @Test
    void jsonReceivesTheRawText() throws Exception {
        String text = "[1, {\"a\": [true, null]}, \"x\"]";

        assertThat(binder.bind(text, Json.class)).isEqualTo(Json.raw(text));
    }

    @Test
    void voidBindsToNull() throws Exception {
        assertThat(binder.bind("[]", Void.class)).isNull();
    }

    @Test
    void listReceivesTheWholeArray() throws Exception {
        assertThat(binder.bind("[1, \"two\", 3]", List.class)).isEqualTo(List.of(1, "two", 3));
    }

    @Test
    void singleValueBindsToAPlainType() throws Exception {
        assertThat(binder.bind("[\"hello\"]", String.class)).isEqualTo("hello");
    }

    @Test
    void plainTypeRejectsMoreThanOneArgument() {
        assertThatThrownBy(() -> binder.bind("[\"a\", \"b\"]", String.class))
                .isInstanceOf(ArgumentBindingException.class)
                .hasMessageContaining("one argument of type String")
                .hasMessageContaining("has 2");
    }

    @Test
    void nestedRecordBindsFromAnObjectArgument() throws Exception {
        assertThat(binder.bind("[\"o-1\", {\"sku\": \"pen\", \"quantity\": 2}]", Order.class))
                .isEqualTo(new Order("o-1", new Item("pen", 2)));
    }

    @Test
    void singleObjectIsTheValueOfARecordsOnlyObjectComponent() throws Exception {
        assertThat(binder.bind("[{\"sku\": \"pen\", \"quantity\": 2}]", Wrapper.class))
                .isEqualTo(new Wrapper(new Item("pen", 2)));
    }

    @Test
    void malformedJsonIsRejected() {
        assertThatThrownBy(() -> binder.bind("[1, ", Sum.class))
                .isInstanceOf(ArgumentBindingException.class)
                .hasMessageContaining("not valid JSON");
    }

    @Test
    void recordConstructorThatThrowsIsRejectedWithItsMessage() {
        assertThatThrownBy(() -> binder.bind("[-1]", Positive.class))
                .isInstanceOf(ArgumentBindingException.class)
                .hasMessageContaining("Positive rejected the arguments")
                .hasMessageContaining("n must be positive, was -1")
                .hasCauseInstanceOf(IllegalArgumentException.class);
    }
}
