package io.backtick.runner.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.backtick.api.BacktickClient;
import io.backtick.api.JobRequest;
import io.backtick.runner.config.ConfigException;
import io.backtick.runner.queue.QueueDatabase;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code backtick enqueue WORKER [ARG…]}: puts one job on the queue and prints its id. */
@Command(name = "enqueue", mixinStandardHelpOptions = true,
        description = {"Put a job on the queue and print its id.",
            "Each ARG is a JSON value: numbers and true/false/null as they are, strings in double quotes "
            + "(in the shell: '\"text\"'), objects and arrays as JSON. Example: backtick enqueue log-sum 3 4"})
final class EnqueueCommand implements Callable<Integer> {

    /**
     * Made on first use, not when picocli builds the command line: every command, down to
     * {@code backtick --version}, builds this command's model, and an ObjectMapper takes a
     * noticeable part of a short command's time to make.
     */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    @Mixin
    DatabaseOptions database;

    @Parameters(index = "0", paramLabel = "WORKER", description = "The worker's name.")
    String worker;

    @Parameters(index = "1..*", paramLabel = "ARG", description = "The job's arguments, each a JSON value.")
    List<String> args = List.of();

    @Option(names = "--json", paramLabel = "JSON",
            description = "All arguments as one JSON array (or one JSON value), instead of ARGs.")
    String json;

    @Option(names = "--at", paramLabel = "TIME",
            description = "Run no earlier than this time: 2026-12-01T14:00:00Z, an offset, or local time.")
    String at;

    @Option(names = "--in", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Run no earlier than this long from now: 30s, 5m, 2h, 1d.")
    Duration in;

    @Option(names = "--queue", paramLabel = "NAME", description = "Queue, instead of the worker's default.")
    String queue;

    @Option(names = "--priority", paramLabel = "N", description = "Priority, instead of the worker's default (higher runs first).")
    Integer priority;

    @Option(names = "--max-attempts", paramLabel = "N", description = "Attempts before the job is discarded, instead of the worker's default.")
    Integer maxAttempts;

    @Option(names = "--key", paramLabel = "KEY",
            description = "A key unique among the worker's jobs that have not ended: if one holds it, nothing is enqueued "
                    + "and that job's id is printed.")
    String key;

    @Override
    public Integer call() {
        JobRequest request = request();
        try (QueueDatabase queue = QueueCommands.open(database)) {
            long id = BacktickClient.create(queue.dataSource()).withSchema(queue.settings().schema()).enqueue(request);
            if (!queue.isWorkerDeclared(worker)) {
                System.err.println("backtick: note: no runner has declared a worker named '" + worker
                        + "' yet; the job waits until one that serves it starts");
            }
            // With a key the id may be that of a job enqueued earlier; either way it holds the key now.
            System.out.println(key == null ? "enqueued job " + id : "job " + id + " holds key " + key);
        }
        return 0;
    }

    JobRequest request() {
        if (json != null && !args.isEmpty()) {
            throw new ConfigException("give the arguments either as ARGs or with --json, not both");
        }
        if (at != null && in != null) {
            throw new ConfigException("give either --at or --in, not both");
        }
        String argsJson = json != null ? parseJson("--json", json).toString() : argsArray().toString();
        JobRequest request;
        try {
            request = JobRequest.ofJson(worker, argsJson);
            if (at != null) {
                request = request.at(parseTime(at));
            }
            if (in != null) {
                request = request.in(in);
            }
            if (queue != null) {
                request = request.withQueue(queue);
            }
            if (priority != null) {
                request = request.withPriority(priority);
            }
            if (maxAttempts != null) {
                request = request.withMaxAttempts(maxAttempts);
            }
            if (key != null) {
                request = request.withKey(key);
            }
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        return request;
    }

    private ArrayNode argsArray() {
        ArrayNode array = Json.MAPPER.createArrayNode();
        for (int i = 0; i < args.size(); i++) {
            array.add(parseJson("argument " + (i + 1), args.get(i)));
        }
        return array;
    }

    private static JsonNode parseJson(String what, String text) {
        try {
            JsonNode node = Json.MAPPER.readTree(text);
            if (node == null || node.isMissingNode()) {
                throw new ConfigException(what + " is empty; give a JSON value such as 3, true or '\"text\"'");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new ConfigException(what + " is not valid JSON: " + abbreviate(text)
                    + " (strings need double quotes: '\"" + abbreviate(text) + "\"')");
        }
    }

    static Instant parseTime(String text) {
        Instant time;
        try {
            time = Instant.parse(text);
        } catch (DateTimeParseException notInstant) {
            try {
                time = OffsetDateTime.parse(text).toInstant();
            } catch (DateTimeParseException notOffset) {
                try {
                    time = ZonedDateTime.parse(text).toInstant();
                } catch (DateTimeParseException notZoned) {
                    try {
                        time = LocalDateTime.parse(text).atZone(ZoneId.systemDefault()).toInstant();
                    } catch (DateTimeParseException e) {
                        throw new ConfigException("--at '" + text + "' is not a time: write it like 2026-12-01T14:00:00Z, "
                                + "2026-12-01T15:00:00+01:00 or 2026-12-01T14:00 (local time)");
                    }
                }
            }
        }
        if (time.isBefore(Instant.now())) {
            throw new ConfigException("--at " + text + " is in the past; to run a job now, leave --at out");
        }
        return time;
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
