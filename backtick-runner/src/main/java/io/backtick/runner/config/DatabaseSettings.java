package io.backtick.runner.config;

import io.backtick.api.QueueSchema;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Objects;
import java.util.Properties;

/**
 * Where the queue lives: a JDBC URL without credentials, the credentials apart from it, and the
 * schema. {@link #toString()} and {@link #describe()} never show the password.
 */
public record DatabaseSettings(String jdbcUrl, String user, String password, String schema) {

    public DatabaseSettings {
        Objects.requireNonNull(jdbcUrl, "jdbcUrl");
        QueueSchema.require(schema);
    }

    public DatabaseSettings withSchema(String schema) {
        return new DatabaseSettings(jdbcUrl, user, password, schema);
    }

    /**
     * Opens one plain connection outside any pool, for a role that holds it for long (a LISTEN, a
     * session lock), named {@code applicationName} in {@code pg_stat_activity}.
     */
    public Connection connect(String applicationName) throws SQLException {
        return connect(applicationName, new Properties());
    }

    /** As {@link #connect(String)}, with more driver properties. */
    public Connection connect(String applicationName, Properties driverProperties) throws SQLException {
        Properties properties = new Properties();
        properties.putAll(driverProperties);
        if (user != null) {
            properties.setProperty("user", user);
        }
        if (password != null) {
            properties.setProperty("password", password);
        }
        properties.setProperty("ApplicationName", applicationName);
        properties.setProperty("tcpKeepAlive", "true");
        properties.setProperty("connectTimeout", "5");
        return DriverManager.getConnection(jdbcUrl, properties);
    }

    /** Host, port and database, for log lines and error messages. */
    public String describe() {
        String rest = jdbcUrl.startsWith("jdbc:postgresql://") ? jdbcUrl.substring("jdbc:postgresql://".length()) : jdbcUrl;
        int query = rest.indexOf('?');
        if (query >= 0) {
            rest = rest.substring(0, query);
        }
        return (user == null ? "" : user + "@") + rest + " (schema " + schema + ")";
    }

    @Override
    public String toString() {
        return "DatabaseSettings[" + describe() + (password == null ? "" : ", password=****") + "]";
    }
}
