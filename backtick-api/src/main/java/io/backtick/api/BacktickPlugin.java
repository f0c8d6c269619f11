package io.backtick.api;

/**
 * The entry point of a plugin jar. The runner finds implementations through
 * {@link java.util.ServiceLoader}: a plugin jar lists its class in
 * {@code META-INF/services/io.backtick.api.BacktickPlugin}.
 *
 * <pre>{@code
 * public final class ShopPlugin implements BacktickPlugin {
 *     public void register(Workers workers) {
 *         workers.define("send-receipt", Receipt.class, (receipt, job) -> mailer.send(receipt));
 *     }
 * }
 * }</pre>
 *
 * <p>An implementation needs a public no-argument constructor. {@link #register} is called once,
 * when the runner starts, before any job runs.
 */
public interface BacktickPlugin {

    /** Declares this plugin's workers. */
    void register(Workers workers);
}
