package io.backtick.runner.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.backtick.api.BacktickClient;
import io.backtick.api.WorkerOptions;
import io.backtick.runner.config.RunnerSettings;
import io.backtick.runner.engine.Runner;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.QueueDatabase;
import io.backtick.runner.testsupport.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The runner's meters count what it does, and the endpoint serves them to Prometheus. */
class MetricsEndpointTest {

    @Test
    void metricsCountClaimsAndOutcomesAndAreServedAtSlashMetrics() throws Exception {
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test")
                .define("ok", Void.class, (a, j) -> { })
                .define("bad", Void.class, WorkerOptions.defaults().withMaxAttempts(1), (a, j) -> {
                    throw new IllegalStateException("no");
                });
        try (QueueDatabase db = TestDatabase.newQueue(MetricsEndpointTest.class, 4);
             MetricsEndpoint endpoint = new MetricsEndpoint(0)) {
            Runner runner = new Runner(RunnerSettings.defaults("metrics-test").withPollInterval(Duration.ofMillis(50)),
                    db, workers, Clock.systemUTC(), endpoint.registry());
            runner.start();
            try {
                BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
                for (int i = 0; i < 5; i++) {
                    client.schedule("ok");
                }
                client.schedule("bad");
                await().atMost(Duration.ofSeconds(20)).until(() ->
                        endpoint.registry().counter("backtick.jobs.finished", "outcome", "completed").count() == 5
                                && endpoint.registry().counter("backtick.jobs.finished", "outcome", "discard").count() == 1);

                HttpResponse<String> response = get(endpoint, "/metrics");

                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.body())
                        .contains("backtick_jobs_claimed_total 6.0")
                        .contains("backtick_jobs_finished_total{outcome=\"completed\"} 5.0")
                        .contains("backtick_job_duration_seconds_count{worker=\"ok\"} 5")
                        .contains("backtick_jobs_running")
                        .contains("backtick_database_cleanup_held_seconds")
                        .contains("jvm_memory_used_bytes");
            } finally {
                runner.stop();
                TestDatabase.dropSchema(db.settings().schema());
            }
        }
    }
    @Test
    void theQueuesDepthAndLagAreServedOnceReadAndNeverAsAFalseZero() throws Exception {
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("ok", Void.class, (a, j) -> { });
        try (QueueDatabase db = TestDatabase.newQueue(MetricsEndpointTest.class, 4);
             MetricsEndpoint endpoint = new MetricsEndpoint(0)) {
            BacktickClient client = BacktickClient.create(db.dataSource()).withSchema(db.settings().schema());
            // Jobs of a worker this runner does not serve wait; the first fell due a minute ago.
            long first = client.schedule("served-elsewhere");
            client.schedule("served-elsewhere");
            client.schedule("served-elsewhere");
            db.dsl().execute("update jobs set run_at = now() - interval '60 seconds' where id = ?", first);
            Runner runner = new Runner(RunnerSettings.defaults("depth-test"), db, workers, Clock.systemUTC(),
                    endpoint.registry());
            runner.start();
            try {
                assertThat(metrics(endpoint)).as("before the first reading")
                        .contains("backtick_queue_available NaN").contains("backtick_queue_lag_seconds NaN");

                String body = await().atMost(Duration.ofSeconds(20))
                        .until(() -> metrics(endpoint), m -> m.contains("backtick_queue_available 3.0"));

                Matcher lag = Pattern.compile("(?m)^backtick_queue_lag_seconds ([0-9.]+)$").matcher(body);
                assertThat(lag.find()).as(body).isTrue();
                assertThat(Double.parseDouble(lag.group(1))).isBetween(60.0, 80.0);
            } finally {
                runner.stop();
                TestDatabase.dropSchema(db.settings().schema());
            }
        }
    }

    private static String metrics(MetricsEndpoint endpoint) throws Exception {
        return get(endpoint, "/metrics").body();
    }

    private static HttpResponse<String> get(MetricsEndpoint endpoint, String path) throws Exception {
        return HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + endpoint.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthIsOkWhileTheRunnerWorksAnd503WithTheReasonOtherwise() throws Exception {
        WorkerRegistry workers = new WorkerRegistry();
        workers.declaringFor("test").define("ok", Void.class, (a, j) -> { });
        try (QueueDatabase db = TestDatabase.newQueue(MetricsEndpointTest.class, 4);
             MetricsEndpoint endpoint = new MetricsEndpoint(0)) {
            Runner runner = new Runner(RunnerSettings.defaults("health-test"), db, workers, Clock.systemUTC(),
                    endpoint.registry());
            try {
                assertThat(health(endpoint)).isEqualTo("503 starting\n");
                endpoint.health(runner::problem);
                assertThat(health(endpoint)).isEqualTo("503 starting\n");

                runner.start();
                assertThat(health(endpoint)).isEqualTo("200 ok\n");

                // As a process started with the same id does once it finds this one silent.
                db.dsl().execute("update runners set instance = 'usurper', host = 'elsewhere', pid = 4242 where id = 'health-test'");
                await().atMost(Duration.ofSeconds(30)).until(() -> health(endpoint).startsWith("503 "));
                assertThat(health(endpoint)).isEqualTo("503 runner id 'health-test' was taken over by pid 4242 on elsewhere, "
                        + "which found this runner silent or was started with the same id; this runner stops "
                        + "(give each runner its own --runner-id)\n");
            } finally {
                runner.stop();
                TestDatabase.dropSchema(db.settings().schema());
            }
            assertThat(health(endpoint)).isEqualTo("503 stopped\n");
        }
    }

    /** The status code and body of {@code GET /health}. */
    private static String health(MetricsEndpoint endpoint) throws Exception {
        HttpResponse<String> response = get(endpoint, "/health");
        return response.statusCode() + " " + response.body();
    }
}
