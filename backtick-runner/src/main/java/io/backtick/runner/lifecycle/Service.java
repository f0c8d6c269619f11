package io.backtick.runner.lifecycle;

/**
 * A part of the runner with a background thread or pool. {@link #stop()} blocks until the part
 * has stopped, within a bounded time, and is safe to call twice or before {@link #start()}.
 */
public interface Service {

    void start();

    void stop();
}
