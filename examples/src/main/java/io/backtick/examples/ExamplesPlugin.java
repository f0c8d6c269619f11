package io.backtick.examples;

import io.backtick.api.BacktickPlugin;
import io.backtick.api.Workers;
import java.time.Duration;

/**
 * The seed's examples as a Backtick plugin.
 *
 * <pre>
 * backtick enqueue log-sum 3 4      # logs "sum 3 + 4 = 7"
 * </pre>
 *
 * <p>{@code heartbeat-every-5-minutes} logs "heartbeat" every five minutes and
 * {@code twice-in-the-afternoon} logs "do a thing" at 14:00 and 16:00 (UTC unless the runner's
 * {@code --schedule-zone} says otherwise), on exactly one runner however many run.
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

        // (define-recurring heartbeat-every-5-minutes (* 1000 60 5) [] (log/info "heartbeat"))
        workers.recurring("heartbeat-every-5-minutes", Duration.ofMinutes(5), job -> job.logger().info("heartbeat"));

        // (define-cron twice-in-the-afternoon "0 0 14,16 * * *" [] (log/info "do a thing"))
        workers.cron("twice-in-the-afternoon", "0 0 14,16 * * *", job -> job.logger().info("do a thing"));
    }
}
