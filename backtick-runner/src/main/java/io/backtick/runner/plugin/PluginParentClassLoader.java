package io.backtick.runner.plugin;

/**
 * The parent of every plugin's class loader. It lets a plugin see the JDK, the Backtick API and
 * SLF4J (so its log lines go through the runner's logging), and nothing else of the runner: a
 * plugin that bundles its own Jackson, HikariCP or jOOQ gets its own, never the runner's.
 */
final class PluginParentClassLoader extends ClassLoader {

    private static final String[] SHARED_PACKAGES = {"io.backtick.api.", "org.slf4j."};

    static {
        registerAsParallelCapable();
    }

    private final ClassLoader runner;

    PluginParentClassLoader(ClassLoader runner) {
        super("backtick-plugin-parent", ClassLoader.getPlatformClassLoader());
        this.runner = runner;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        for (String shared : SHARED_PACKAGES) {
            if (name.startsWith(shared)) {
                return runner.loadClass(name);
            }
        }
        // The platform loader: JDK classes only. Anything else must come from the plugin's own jars.
        return super.loadClass(name, resolve);
    }
}
