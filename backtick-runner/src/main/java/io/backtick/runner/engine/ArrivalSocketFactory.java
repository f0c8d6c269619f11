package io.backtick.runner.engine;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.SocketFactory;

/**
 * Sockets that report the moment bytes arrive, for the notifier's listening connection.
 *
 * <p>pgjdbc's {@code getNotifications(timeout)} reads a notification and then, before it returns,
 * waits up to a millisecond for more to be pending (a 1 ms socket read, done on every call). On
 * an idle queue that millisecond is most of the time from an enqueue's commit to its job's start.
 * Nothing but notifications arrives on the listening connection while it waits, so bytes arriving
 * there mean "jobs were committed": the notifier wakes the producer at that moment and lets the
 * driver finish its read in its own time.
 *
 * <p>The driver instantiates the factory by class name ({@code socketFactory}) with one string
 * argument ({@code socketFactoryArg}): the token under which {@link #register} filed the callback.
 */
public final class ArrivalSocketFactory extends SocketFactory {

    private static final Map<String, Runnable> CALLBACKS = new ConcurrentHashMap<>();

    private final Runnable onArrival;

    /** Called by the driver with the token from {@link #register}. */
    public ArrivalSocketFactory(String token) {
        this.onArrival = CALLBACKS.getOrDefault(token, () -> { });
    }

    /** Files {@code onArrival} under a new token, for the driver's {@code socketFactoryArg}. */
    static String register(Runnable onArrival) {
        String token = UUID.randomUUID().toString();
        CALLBACKS.put(token, onArrival);
        return token;
    }

    static void unregister(String token) {
        CALLBACKS.remove(token);
    }

    @Override
    public Socket createSocket() {
        return new ArrivalSocket(onArrival);
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        Socket socket = createSocket();
        socket.bind(new InetSocketAddress(localHost, localPort));
        socket.connect(new InetSocketAddress(host, port));
        return socket;
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        Socket socket = createSocket();
        socket.bind(new InetSocketAddress(localAddress, localPort));
        socket.connect(new InetSocketAddress(address, port));
        return socket;
    }

    private Socket connected(InetSocketAddress address) throws IOException {
        Socket socket = createSocket();
        socket.connect(address);
        return socket;
    }

    /** A plain socket whose input stream runs a callback whenever a read returns bytes. */
    private static final class ArrivalSocket extends Socket {
        private final Runnable onArrival;
        private InputStream in;

        ArrivalSocket(Runnable onArrival) {
            this.onArrival = onArrival;
        }

        @Override
        public synchronized InputStream getInputStream() throws IOException {
            if (in == null) {
                in = new FilterInputStream(super.getInputStream()) {
                    @Override
                    public int read() throws IOException {
                        int b = super.read();
                        if (b >= 0) {
                            onArrival.run();
                        }
                        return b;
                    }

                    @Override
                    public int read(byte[] buffer, int offset, int length) throws IOException {
                        int n = super.read(buffer, offset, length);
                        if (n > 0) {
                            onArrival.run();
                        }
                        return n;
                    }
                };
            }
            return in;
        }
    }
}
