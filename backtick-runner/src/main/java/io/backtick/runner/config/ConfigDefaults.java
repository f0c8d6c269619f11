package io.backtick.runner.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Where an option not given on the command line takes its value from, in order: the environment
 * ({@code --poll-interval} reads {@code BACKTICK_POLL_INTERVAL}; the database URL falls back to
 * {@code DATABASE_URL} as the seed does), then the config file (a properties file whose keys are
 * the long option names without dashes, such as {@code poll-interval=2s}), then the built-in default.
 */
public final class ConfigDefaults implements IDefaultValueProvider {

    public static final String CONFIG_ENV = "BACKTICK_CONFIG";

    private final Map<String, String> env;
    private final Properties file;

    public ConfigDefaults(Map<String, String> env, Properties file) {
        this.env = env;
        this.file = file;
    }

    /** Reads the config file named by {@code --config} (already picked out of the arguments) or {@code BACKTICK_CONFIG}. */
    public static ConfigDefaults load(String configFlag, Map<String, String> env) {
        String path = configFlag != null ? configFlag : env.get(CONFIG_ENV);
        Properties properties = new Properties();
        if (path != null && !path.isBlank()) {
            Path file = Path.of(path);
            if (!Files.isRegularFile(file)) {
                throw new ConfigException("config file " + path + " does not exist");
            }
            try (Reader reader = Files.newBufferedReader(file)) {
                properties.load(reader);
            } catch (IOException | IllegalArgumentException e) {
                throw new ConfigException("cannot read config file " + path + ": " + e.getMessage());
            }
        }
        return new ConfigDefaults(env, properties);
    }

    @Override
    public String defaultValue(ArgSpec argSpec) {
        if (!(argSpec instanceof OptionSpec option)) {
            return null;
        }
        String key = option.longestName().replaceFirst("^--", "");
        return lookup(key);
    }

    /** The value for {@code key} (a long option name without dashes) from the environment or the file, or null. */
    public String lookup(String key) {
        String value = env.get(envName(key));
        if (isBlank(value) && key.equals("database-url")) {
            value = env.get("DATABASE_URL");
        }
        if (isBlank(value)) {
            value = file.getProperty(key);
        }
        return isBlank(value) ? null : value.strip();
    }

    public static String envName(String key) {
        return "BACKTICK_" + key.toUpperCase(java.util.Locale.ROOT).replace('-', '_');
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
