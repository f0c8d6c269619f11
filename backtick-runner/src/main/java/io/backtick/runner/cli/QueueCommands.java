package io.backtick.runner.cli;

import io.backtick.runner.config.ConfigException;
import io.backtick.runner.config.DatabaseSettings;
import io.backtick.runner.queue.QueueDatabase;

/** Opening the queue for the short-lived subcommands (enqueue, jobs). */
final class QueueCommands {

    private QueueCommands() {
    }

    /** Opens the queue and checks that it has been set up. */
    static QueueDatabase open(DatabaseOptions options) {
        DatabaseSettings settings = options.configuredOrRunningEmbedded();
        QueueDatabase database = QueueDatabase.open(settings, 1, "backtick-cli");
        try {
            if (!database.isMigrated()) {
                throw new ConfigException("the queue is not set up in schema " + settings.schema() + " of "
                        + settings.describe() + "; run 'backtick migrate' or start a runner first");
            }
            return database;
        } catch (RuntimeException e) {
            database.close();
            throw e;
        }
    }
}
