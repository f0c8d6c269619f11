package io.backtick.runner.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the two forms a database URL comes in, {@code jdbc:postgresql://host:port/db?user=…} and
 * {@code postgres://user:password@host:port/db} (as Heroku and most tools write it), into
 * {@link DatabaseSettings}. Credentials are taken out of the URL so the URL can be shown safely.
 */
public final class DatabaseUrl {

    private DatabaseUrl() {
    }

    /**
     * @param url      the URL as the user gave it
     * @param user     a user given apart from the URL, or null; it wins over one in the URL
     * @param password a password given apart from the URL, or null; it wins over one in the URL
     * @throws ConfigException with a message that never contains the password
     */
    public static DatabaseSettings parse(String url, String user, String password, String schema) {
        String trimmed = url == null ? "" : url.strip();
        if (trimmed.isEmpty()) {
            throw new ConfigException("the database URL is empty");
        }
        if (trimmed.startsWith("postgres://") || trimmed.startsWith("postgresql://")) {
            return fromPostgresUri(trimmed, user, password, schema);
        }
        if (trimmed.startsWith("jdbc:postgresql:")) {
            return fromJdbc(trimmed, user, password, schema);
        }
        throw new ConfigException("the database URL must start with jdbc:postgresql:// or postgres:// (got '"
                + redact(trimmed) + "')");
    }

    private static DatabaseSettings fromPostgresUri(String url, String user, String password, String schema) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new ConfigException("the database URL '" + redact(url) + "' is not a valid URL: " + e.getReason());
        }
        if (uri.getHost() == null) {
            throw new ConfigException("the database URL '" + redact(url) + "' has no host");
        }
        String uriUser = null;
        String uriPassword = null;
        if (uri.getRawUserInfo() != null) {
            String info = uri.getRawUserInfo();
            int colon = info.indexOf(':');
            uriUser = decode(colon < 0 ? info : info.substring(0, colon));
            uriPassword = colon < 0 ? null : decode(info.substring(colon + 1));
        }
        String database = uri.getPath() == null || uri.getPath().length() <= 1 ? "" : uri.getPath().substring(1);
        StringBuilder jdbc = new StringBuilder("jdbc:postgresql://").append(uri.getHost());
        if (uri.getPort() > 0) {
            jdbc.append(':').append(uri.getPort());
        }
        jdbc.append('/').append(database);
        List<String> params = new ArrayList<>();
        if (uri.getRawQuery() != null) {
            for (String param : uri.getRawQuery().split("&")) {
                String key = param.contains("=") ? param.substring(0, param.indexOf('=')) : param;
                String value = param.contains("=") ? decode(param.substring(param.indexOf('=') + 1)) : "";
                switch (key) {
                    case "user" -> uriUser = value;
                    case "password" -> uriPassword = value;
                    // libpq spells it sslmode too; pgjdbc understands the same values.
                    default -> params.add(param);
                }
            }
        }
        if (!params.isEmpty()) {
            jdbc.append('?').append(String.join("&", params));
        }
        return new DatabaseSettings(jdbc.toString(), user != null ? user : uriUser,
                password != null ? password : uriPassword, schema);
    }

    private static DatabaseSettings fromJdbc(String url, String user, String password, String schema) {
        int query = url.indexOf('?');
        String base = query < 0 ? url : url.substring(0, query);
        String urlUser = null;
        String urlPassword = null;
        List<String> params = new ArrayList<>();
        if (query >= 0) {
            for (String param : url.substring(query + 1).split("&")) {
                if (param.isEmpty()) {
                    continue;
                }
                String key = param.contains("=") ? param.substring(0, param.indexOf('=')) : param;
                String value = param.contains("=") ? decode(param.substring(param.indexOf('=') + 1)) : "";
                switch (key) {
                    case "user" -> urlUser = value;
                    case "password" -> urlPassword = value;
                    default -> params.add(param);
                }
            }
        }
        String jdbc = params.isEmpty() ? base : base + "?" + String.join("&", params);
        return new DatabaseSettings(jdbc, user != null ? user : urlUser,
                password != null ? password : urlPassword, schema);
    }

    /** The URL with any password replaced by {@code ****}, for messages about a URL that did not parse. */
    public static String redact(String url) {
        if (url == null) {
            return null;
        }
        // The password runs to the last '@': a URL that did not parse may hold one with an unencoded
        // '/', '?', '#' or '@' in it. Hiding too much of a broken URL is better than showing a secret.
        return url.replaceAll("(?i)(password=)[^&]*", "$1****")
                .replaceAll("(://[^:/@]*):.*@", "$1:****@");
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }
}
