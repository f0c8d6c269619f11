package io.backtick.runner.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DatabaseUrlTest {

    private static final String PASSWORD = "s3cret-pw";

    @Test
    void jdbcUrlCredentialsMoveOutOfTheUrlAndOtherParametersStay() {
        DatabaseSettings settings = DatabaseUrl.parse(
                "jdbc:postgresql://db.example.com:5432/shop?user=bob&ssl=true&password=" + PASSWORD + "&connectTimeout=5",
                null, null, "queue");

        assertThat(settings.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example.com:5432/shop?ssl=true&connectTimeout=5");
        assertThat(settings.user()).isEqualTo("bob");
        assertThat(settings.password()).isEqualTo(PASSWORD);
        assertThat(settings.schema()).isEqualTo("queue");
    }

    @Test
    void jdbcUrlWithOnlyCredentialsLosesItsQuery() {
        DatabaseSettings settings = DatabaseUrl.parse("jdbc:postgresql://h/db?user=bob&password=" + PASSWORD,
                null, null, "backtick");

        assertThat(settings.jdbcUrl()).isEqualTo("jdbc:postgresql://h/db");
    }

    @Test
    void postgresUriBecomesJdbcWithUserAndDecodedPassword() {
        DatabaseSettings settings = DatabaseUrl.parse("postgres://user:p%40ss@host:5433/db?sslmode=require",
                null, null, "backtick");

        assertThat(settings.jdbcUrl()).isEqualTo("jdbc:postgresql://host:5433/db?sslmode=require");
        assertThat(settings.user()).isEqualTo("user");
        assertThat(settings.password()).isEqualTo("p@ss");
    }

    @Test
    void postgresqlSchemeWithoutPortOrCredentials() {
        DatabaseSettings settings = DatabaseUrl.parse("postgresql://host/db", null, null, "backtick");

        assertThat(settings.jdbcUrl()).isEqualTo("jdbc:postgresql://host/db");
        assertThat(settings.user()).isNull();
        assertThat(settings.password()).isNull();
    }

    @Test
    void separateUserAndPasswordWinOverTheUrls() {
        DatabaseSettings fromUri = DatabaseUrl.parse("postgres://bob:" + PASSWORD + "@host/db", "alice", "other", "backtick");
        DatabaseSettings fromJdbc = DatabaseUrl.parse("jdbc:postgresql://host/db?user=bob&password=" + PASSWORD,
                "alice", "other", "backtick");

        for (DatabaseSettings settings : new DatabaseSettings[] {fromUri, fromJdbc}) {
            assertThat(settings.user()).isEqualTo("alice");
            assertThat(settings.password()).isEqualTo("other");
            assertThat(settings.jdbcUrl()).isEqualTo("jdbc:postgresql://host/db");
        }
    }

    @Test
    void describeAndToStringNeverShowThePassword() {
        DatabaseSettings settings = DatabaseUrl.parse("postgres://bob:" + PASSWORD + "@host:5433/db?sslmode=require",
                null, null, "queue");

        assertThat(settings.describe()).isEqualTo("bob@host:5433/db (schema queue)").doesNotContain(PASSWORD);
        assertThat(settings.toString()).contains("bob@host:5433/db").contains("password=****").doesNotContain(PASSWORD);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "mysql://bob:" + PASSWORD + "@host/db",
        "jdbc:mysql://host/db?user=bob&password=" + PASSWORD,
        "mysql://bob:pa/ss-" + PASSWORD + "@host/db"
    })
    void badSchemeIsRejectedWithoutShowingThePassword(String url) {
        assertThatThrownBy(() -> DatabaseUrl.parse(url, null, null, "backtick"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("must start with jdbc:postgresql:// or postgres://")
                .hasMessageContaining("****")
                .message().doesNotContain(PASSWORD);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "postgres://bob:" + PASSWORD + "@/db",
        // An unencoded slash makes the URI parser read "bob:pa" as the authority.
        "postgres://bob:pa/ss-" + PASSWORD + "@host/db"
    })
    void postgresUriWithoutHostIsRejectedWithoutShowingThePassword(String url) {
        assertThatThrownBy(() -> DatabaseUrl.parse(url, null, null, "backtick"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("has no host")
                .message().doesNotContain(PASSWORD);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   "})
    void emptyUrlIsRejected(String url) {
        assertThatThrownBy(() -> DatabaseUrl.parse(url, null, null, "backtick"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("the database URL is empty");
    }

    @Test
    void nullUrlIsRejectedAsEmpty() {
        assertThatThrownBy(() -> DatabaseUrl.parse(null, null, null, "backtick"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("the database URL is empty");
    }
}
