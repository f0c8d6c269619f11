package io.backtick.runner.testsupport;

import io.backtick.api.BacktickPlugin;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * Builds plugin jars for tests from classes of the test source tree: the classes' bytes (with
 * their nested and lambda-free inner classes) plus the service entry naming the plugin.
 */
public final class PluginJars {

    private PluginJars() {
    }

    /**
     * Writes {@code jar} holding {@code plugin} as the service, and the given classes (each with its
     * nested classes).
     */
    public static Path build(Path jar, Class<? extends BacktickPlugin> plugin, Class<?>... classes) throws IOException {
        Files.createDirectories(jar.toAbsolutePath().getParent());
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file)) {
            out.putNextEntry(new JarEntry("META-INF/services/" + BacktickPlugin.class.getName()));
            out.write((plugin.getName() + "\n").getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
            java.util.Set<Class<?>> all = new java.util.LinkedHashSet<>();
            all.add(plugin);
            all.addAll(List.of(classes));
            for (Class<?> type : all) {
                addWithNested(out, type);
            }
        }
        return jar;
    }

    private static void addWithNested(JarOutputStream out, Class<?> type) throws IOException {
        Path classFile = classFile(type);
        String prefix = type.getSimpleName();
        try (Stream<Path> siblings = Files.list(classFile.getParent())) {
            for (Path sibling : siblings.filter(p -> {
                String name = p.getFileName().toString();
                return name.equals(prefix + ".class") || name.startsWith(prefix + "$");
            }).toList()) {
                String entry = type.getPackageName().replace('.', '/') + "/" + sibling.getFileName();
                out.putNextEntry(new JarEntry(entry));
                try (InputStream in = Files.newInputStream(sibling)) {
                    in.transferTo(out);
                }
                out.closeEntry();
            }
        }
    }

    private static Path classFile(Class<?> type) {
        try {
            return Path.of(type.getResource(type.getSimpleName() + ".class").toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("cannot find the class file of " + type.getName(), e);
        }
    }

    /** The jar a class was loaded from (for example the PostgreSQL driver, to ship beside a plugin). */
    public static Path jarOf(Class<?> type) {
        try {
            return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
