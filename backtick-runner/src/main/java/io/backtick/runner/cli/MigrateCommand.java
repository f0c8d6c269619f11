package io.backtick.runner.cli;

import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.queue.QueueDatabase;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code backtick migrate}: creates or updates the queue's schema. */
@Command(name = "migrate", mixinStandardHelpOptions = true,
        description = {"Create or update the queue's tables in --schema. Runners do this themselves at start "
            + "(unless --no-migrate); run it on its own when runners lack the rights to change the schema."})
final class MigrateCommand implements Callable<Integer> {

    @Mixin
    DatabaseOptions database;

    @Override
    public Integer call() {
        DatabaseSettings settings = database.configuredOrRunningEmbedded();
        try (QueueDatabase queue = QueueDatabase.open(settings, 1, "backtick-migrate")) {
            int applied = queue.migrate();
            System.out.println("schema " + settings.schema() + " is up to date (" + applied + " migration(s) applied now)");
        }
        return 0;
    }
}
