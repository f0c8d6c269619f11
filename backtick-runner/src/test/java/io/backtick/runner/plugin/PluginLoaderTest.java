package io.backtick.runner.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.backtick.runner.plugin.PluginLoader.LoadedPlugin;
import io.backtick.runner.plugin.fixtures.DuplicatePlugin;
import io.backtick.runner.plugin.fixtures.BadCronPlugin;
import io.backtick.runner.plugin.fixtures.GoodPlugin;
import io.backtick.runner.plugin.fixtures.RunnerLibraryPlugin;
import io.backtick.runner.plugin.fixtures.ThrowingPlugin;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loads plugin jars built here from the fixture classes. Those classes are on the test class path
 * too, but a plugin's class loader cannot see the test class path (its parent shows only the JDK,
 * the API and SLF4J), so what gets loaded is the copy in the jar.
 */
class PluginLoaderTest {

    @TempDir
    Path plugins;

    private final WorkerRegistry registry = new WorkerRegistry();

    @Test
    void validJarLoadsAndRegistersItsWorkerFromItsOwnClassLoader() throws IOException {
        jar(plugins.resolve("good.jar"), GoodPlugin.class.getName(), GoodPlugin.class, GoodPlugin.Work.class);

        List<LoadedPlugin> loaded = new PluginLoader().load(plugins, registry);

        assertThat(loaded).singleElement().satisfies(plugin -> {
            assertThat(plugin.source()).isEqualTo("good.jar");
            assertThat(plugin.pluginClasses()).containsExactly(GoodPlugin.class.getName());
        });
        WorkerDefinition good = registry.find(GoodPlugin.WORKER).orElseThrow();
        assertThat(good.source()).isEqualTo("good.jar");
        assertThat(good.argsType()).isEqualTo(String.class);
        Class<?> workerClass = good.worker().getClass();
        assertThat(workerClass.getName()).isEqualTo(GoodPlugin.Work.class.getName());
        assertThat(workerClass.getClassLoader())
                .isSameAs(loaded.get(0).classLoader())
                .isNotSameAs(getClass().getClassLoader());
        assertThat(workerClass).isNotSameAs(GoodPlugin.Work.class);
    }

    @Test
    void subdirectoryOfJarsIsOnePluginWhoseJarsShareAClassLoader() throws IOException {
        Path bundle = Files.createDirectory(plugins.resolve("bundle"));
        // The plugin class in one jar, the worker it instantiates in the other: it loads only if both
        // jars are on the same class loader.
        jar(bundle.resolve("plugin.jar"), GoodPlugin.class.getName(), GoodPlugin.class);
        jar(bundle.resolve("lib.jar"), null, GoodPlugin.Work.class);

        List<LoadedPlugin> loaded = new PluginLoader().load(plugins, registry);

        assertThat(loaded).singleElement().satisfies(plugin -> {
            assertThat(plugin.source()).isEqualTo("bundle/");
            assertThat(plugin.pluginClasses()).containsExactly(GoodPlugin.class.getName());
        });
        WorkerDefinition good = registry.find(GoodPlugin.WORKER).orElseThrow();
        assertThat(good.source()).isEqualTo("bundle/");
        assertThat(good.worker().getClass().getClassLoader())
                .isSameAs(loaded.get(0).classLoader())
                .isNotSameAs(getClass().getClassLoader());
    }

    @Test
    void fileThatIsNotAZipIsNotAValidJar() throws IOException {
        Files.writeString(plugins.resolve("broken.jar"), "this is not a zip file");

        assertThatThrownBy(() -> new PluginLoader().load(plugins, registry))
                .isInstanceOf(PluginException.class)
                .hasMessageContaining("broken.jar")
                .hasMessageContaining("is not a valid jar");
        assertThat(registry.isEmpty()).isTrue();
    }

    @Test
    void jarWithoutServiceEntryIsRejected() throws IOException {
        jar(plugins.resolve("no-service.jar"), null, GoodPlugin.class, GoodPlugin.Work.class);

        assertThatThrownBy(() -> new PluginLoader().load(plugins, registry))
                .isInstanceOf(PluginException.class)
                .hasMessageContaining("no-service.jar")
                .hasMessageContaining("has no " + PluginLoader.SERVICE_FILE);
    }

    @Test
    void serviceEntryNamingAMissingClassCannotLoadItsPluginClass() throws IOException {
        String missing = "io.backtick.runner.plugin.fixtures.NoSuchPlugin";
        jar(plugins.resolve("missing-class.jar"), missing, GoodPlugin.Work.class);

        assertThatThrownBy(() -> new PluginLoader().load(plugins, registry))
                .isInstanceOf(PluginException.class)
                .hasMessageContaining("missing-class.jar")
                .hasMessageContaining("cannot load its plugin class")
                .hasMessageContaining(missing);
    }

    @Test
    void serviceEntryNamingAClassOnlyTheRunnerHasCannotLoadItsPluginClass() throws IOException {
        // GoodPlugin is on the runner's (test) class path but not in this jar: the plugin must not find it.
        jar(plugins.resolve("elsewhere.jar"), GoodPlugin.class.getName(), GoodPlugin.Work.class);

        assertThatThrownBy(() -> new PluginLoader().load(plugins, registry))
                .isInstanceOf(PluginException.class)
                .hasMessageContaining("elsewhere.jar")
                .hasMessageContaining("cannot load its plugin class")
                .hasMessageContaining(GoodPlugin.class.getName());
    }

    @Test
    void twoJarsDeclaringTheSameWorkerNameAreRejectedNamingBothJars() throws IOException {
        jar(plugins.resolve("a-good.jar"), GoodPlugin.class.getName(), GoodPlugin.class, GoodPlugin.Work.class);
        jar(plugins.resolve("b-duplicate.jar"), DuplicatePlugin.class.getName(),
                DuplicatePlugin.class, DuplicatePlugin.Work.class);

        assertThatThrownBy(() -> new PluginLoader().load(plugins, registry))
                .isInstanceOf(PluginException.class)
                .hasMessageContaining("'" + GoodPlugin.WORKER + "'")
                .hasMessageContaining("declared twice")
                .hasMessageContaining("a-good.jar")
                .hasMessageContaining("b-duplicate.jar");
    }

    @Test
    void registerThatThrowsIsReportedWithTheJarAndTheCause() throws IOException {
        jar(plugins.resolve("throws.jar"), ThrowingPlugin.class.getName(), ThrowingPlugin.class);

        assertThatThrownBy(() -> new PluginLoader().load(plugins, registry))
                .isInstanceOf(PluginException.class)
                .hasMessageContaining("throws.jar")
                .hasMessageContaining(ThrowingPlugin.class.getName() + ".register failed")
                .hasMessageContaining(ThrowingPlugin.MESSAGE)
                .hasCauseInstanceOf(IllegalStateException.class);
    }

    @Test
    void anInvalidCronExpressionStopsLoadingNamingTheJarAndTheSchedule() throws IOException {
        jar(plugins.resolve("cron.jar"), BadCronPlugin.class.getName(), BadCronPlugin.class);

        assertThatThrownBy(() -> new PluginLoader().load(plugins, registry))
                .isInstanceOf(PluginException.class)
                .hasMessageContaining("cron.jar")
                .hasMessageContaining("schedule '" + BadCronPlugin.SCHEDULE + "'")
                .hasMessageContaining("'" + BadCronPlugin.EXPRESSION + "'")
                .hasMessageContaining("wraps around");
    }

    @Test
    void missingDirectoryIsReported() {
        Path missing = plugins.resolve("nowhere");

        assertThatThrownBy(() -> new PluginLoader().load(missing, registry))
                .isInstanceOf(PluginException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("does not exist");
    }

    @Test
    void directoryWithoutPluginJarsIsReported() throws IOException {
        Files.writeString(plugins.resolve("README.txt"), "not a plugin");

        assertThatThrownBy(() -> new PluginLoader().load(plugins, registry))
                .isInstanceOf(PluginException.class)
                .hasMessageContaining(plugins.toString())
                .hasMessageContaining("holds no plugin jars");
    }

    @Test
    void pluginCannotSeeTheRunnersLibraries() throws Exception {
        // HikariCP is on the runner's class path (the test's own loader finds it) ...
        assertThat(Class.forName("com.zaxxer.hikari.HikariConfig", false, getClass().getClassLoader())).isNotNull();
        jar(plugins.resolve("uses-hikari.jar"), RunnerLibraryPlugin.class.getName(), RunnerLibraryPlugin.class);

        // ... but a plugin that uses it without bundling it fails to load.
        assertThatThrownBy(() -> new PluginLoader().load(plugins, registry))
                .isInstanceOf(PluginException.class)
                .hasMessageContaining("uses-hikari.jar")
                .hasMessageContaining("register failed")
                .hasMessageContaining("com/zaxxer/hikari/HikariConfig")
                .hasMessageContaining("must bundle the libraries it uses")
                .hasCauseInstanceOf(NoClassDefFoundError.class)
                .hasRootCauseInstanceOf(ClassNotFoundException.class);
        assertThat(registry.isEmpty()).isTrue();
    }

    /**
     * Writes a jar holding the given classes' bytes, as compiled into the test class path, and a
     * service file naming {@code serviceClass} (none when null). Nested classes must be passed too.
     */
    private static void jar(Path file, String serviceClass, Class<?>... classes) throws IOException {
        try (OutputStream out = Files.newOutputStream(file); JarOutputStream jar = new JarOutputStream(out)) {
            for (Class<?> type : classes) {
                String entry = type.getName().replace('.', '/') + ".class";
                try (InputStream in = PluginLoaderTest.class.getResourceAsStream("/" + entry)) {
                    assertThat(in).as("class file %s on the test class path", entry).isNotNull();
                    jar.putNextEntry(new JarEntry(entry));
                    in.transferTo(jar);
                    jar.closeEntry();
                }
            }
            if (serviceClass != null) {
                jar.putNextEntry(new JarEntry(PluginLoader.SERVICE_FILE));
                jar.write((serviceClass + "\n").getBytes(StandardCharsets.UTF_8));
                jar.closeEntry();
            }
        }
    }
}
