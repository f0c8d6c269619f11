package io.backtick.runner.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.backtick.runner.config.ConfigException;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * Serves the runner's meters and the JVM's in the Prometheus text format at {@code /metrics}, and
 * whether the runner does its work at {@code /health}: {@code 200 ok}, or {@code 503} with what
 * keeps it from it in one line (for a load balancer's or an orchestrator's check).
 */
final class MetricsEndpoint implements AutoCloseable {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private final HttpServer server;
    private volatile Supplier<Optional<String>> problem = () -> Optional.of("starting");

    MetricsEndpoint(int port) {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        gc.bindTo(registry);
        try {
            server = HttpServer.create(new InetSocketAddress(port), 0);
        } catch (IOException e) {
            throw new ConfigException("cannot serve metrics on port " + port + ": " + e.getMessage()
                    + "; pick another --metrics-port");
        }
        server.createContext("/metrics", exchange ->
                respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
        server.createContext("/health", exchange -> {
            Optional<String> now = problem.get();
            respond(exchange, now.isEmpty() ? 200 : 503, "text/plain; charset=utf-8", now.orElse("ok") + "\n");
        });
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "backtick-metrics");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    private static void respond(HttpExchange exchange, int status, String contentType, String text) throws IOException {
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", contentType);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** Where {@code /health} learns what keeps the runner from its work (empty: nothing). */
    void health(Supplier<Optional<String>> problem) {
        this.problem = problem;
    }

    PrometheusMeterRegistry registry() {
        return registry;
    }

    int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        gc.close();
        registry.close();
    }
}
