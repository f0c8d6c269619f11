package io.backtick.runner.plugin;

import io.backtick.api.BacktickPlugin;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the plugins in a directory. Each {@code *.jar} in it is one plugin; each subdirectory is
 * one plugin made of the jars inside it (a plugin jar with the libraries it needs). Every plugin
 * gets a class loader of its own whose parent shows it only the JDK, the Backtick API and SLF4J.
 * Any problem stops loading with a {@link PluginException} naming the jar and what is wrong.
 */
public final class PluginLoader {

    public static final String SERVICE_FILE = "META-INF/services/" + BacktickPlugin.class.getName();

    private static final Logger log = LoggerFactory.getLogger(PluginLoader.class);

    private final ClassLoader parent;

    public PluginLoader() {
        this.parent = new PluginParentClassLoader(PluginLoader.class.getClassLoader());
    }

    /** One loaded plugin: where it came from and the plugin classes found in it. */
    public record LoadedPlugin(String source, List<String> pluginClasses, ClassLoader classLoader) {
    }

    /** Loads every plugin in {@code directory} and lets each declare its workers in {@code registry}. */
    public List<LoadedPlugin> load(Path directory, WorkerRegistry registry) {
        if (!Files.isDirectory(directory)) {
            throw new PluginException("plugin directory " + directory + (Files.exists(directory)
                    ? " is not a directory" : " does not exist") + "; point --plugins at the folder that holds your plugin jars");
        }
        List<Path> entries;
        try (Stream<Path> list = Files.list(directory)) {
            entries = list.sorted().toList();
        } catch (IOException e) {
            throw new PluginException("cannot read plugin directory " + directory + ": " + e.getMessage(), e);
        }
        List<LoadedPlugin> loaded = new ArrayList<>();
        for (Path entry : entries) {
            if (Files.isDirectory(entry)) {
                loaded.add(loadBundle(entry.getFileName() + "/", jarsIn(entry), registry));
            } else if (entry.getFileName().toString().endsWith(".jar")) {
                loaded.add(loadBundle(entry.getFileName().toString(), List.of(entry), registry));
            } else {
                log.debug("Ignoring {} in the plugin directory: not a jar or a directory", entry.getFileName());
            }
        }
        if (loaded.isEmpty()) {
            throw new PluginException("plugin directory " + directory
                    + " holds no plugin jars; build one (see the README) and put it there");
        }
        return loaded;
    }

    private static List<Path> jarsIn(Path directory) {
        try (Stream<Path> list = Files.list(directory)) {
            List<Path> jars = list.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted().toList();
            if (jars.isEmpty()) {
                throw new PluginException("plugin folder " + directory.getFileName()
                        + "/ holds no jars; a folder in the plugin directory is one plugin made of the jars in it");
            }
            return jars;
        } catch (IOException e) {
            throw new PluginException("cannot read plugin folder " + directory + ": " + e.getMessage(), e);
        }
    }

    private LoadedPlugin loadBundle(String source, List<Path> jars, WorkerRegistry registry) {
        boolean hasServiceEntry = false;
        URL[] urls = new URL[jars.size()];
        for (int i = 0; i < jars.size(); i++) {
            Path jar = jars.get(i);
            String jarName = jars.size() == 1 ? source : source + jar.getFileName();
            try (JarFile file = new JarFile(jar.toFile())) {
                hasServiceEntry |= file.getEntry(SERVICE_FILE) != null;
            } catch (IOException e) {
                throw new PluginException("plugin jar " + jarName + " is not a valid jar file (" + e.getMessage() + ")", e);
            }
            try {
                urls[i] = jar.toUri().toURL();
            } catch (MalformedURLException e) {
                throw new PluginException("plugin jar " + jarName + " has a path that cannot be loaded: " + e.getMessage(), e);
            }
        }
        if (!hasServiceEntry) {
            throw new PluginException("plugin jar " + source + " has no " + SERVICE_FILE
                    + " entry; list your BacktickPlugin class in that file");
        }
        URLClassLoader loader = new URLClassLoader("plugin:" + source, urls, parent);
        List<String> classes = new ArrayList<>();
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(loader);
        try {
            Iterator<BacktickPlugin> plugins = ServiceLoader.load(BacktickPlugin.class, loader).iterator();
            while (true) {
                BacktickPlugin plugin;
                try {
                    if (!plugins.hasNext()) {
                        break;
                    }
                    plugin = plugins.next();
                } catch (ServiceConfigurationError | LinkageError e) {
                    throw new PluginException("plugin jar " + source + ": cannot load its plugin class: " + describe(e), e);
                }
                register(source, plugin, registry);
                classes.add(plugin.getClass().getName());
            }
        } finally {
            thread.setContextClassLoader(previous);
        }
        if (classes.isEmpty()) {
            throw new PluginException("plugin jar " + source + ": " + SERVICE_FILE + " names no plugin class");
        }
        log.info("Loaded plugin {} ({})", source, String.join(", ", classes));
        return new LoadedPlugin(source, List.copyOf(classes), loader);
    }

    private static void register(String source, BacktickPlugin plugin, WorkerRegistry registry) {
        try {
            plugin.register(registry.declaringFor(source));
        } catch (PluginException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            String hint = e instanceof NoClassDefFoundError
                    ? " (a plugin must bundle the libraries it uses, or ship them beside it in a plugin folder)" : "";
            throw new PluginException("plugin jar " + source + ": " + plugin.getClass().getName()
                    + ".register failed: " + describe(e) + hint, e);
        }
    }

    /** The error and its root cause, in one line. */
    static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (root != e) {
            message += " (caused by " + root.getClass().getSimpleName()
                    + (root.getMessage() == null ? "" : ": " + root.getMessage()) + ")";
        }
        return message.replace('\n', ' ');
    }
}
