package io.backtick.examples;

import io.backtick.api.BacktickPlugin;
import io.backtick.api.Workers;

/**
 * The seed's examples as a Backtick plugin.
 *
 * <pre>
 * backtick enqueue log-sum 3 4      # logs "sum 3 + 4 = 7"
 * </pre>
 */
public final class ExamplesPlugin implements BacktickPlugin {

    /** The arguments of {@code log-sum}: two numbers, given positionally as {@code [3, 4]}. */
    public record Sum(long x, long y) {
    }

    @Override
    public void register(Workers workers) {
        // (define-worker log-sum [x y] (log/infof "sum %s + %s = %s" x y (+ x y)))
        workers.define("log-sum", Sum.class,
                (sum, job) -> job.logger().info("sum {} + {} = {}", sum.x(), sum.y(), sum.x() + sum.y()));
    }
}
