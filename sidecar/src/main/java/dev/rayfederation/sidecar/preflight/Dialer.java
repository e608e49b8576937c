package dev.rayfederation.sidecar.preflight;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

/** Opens (and closes) one TCP connection: the head -> worker half of the preflight, dialled from the sidecar. */
@FunctionalInterface
public interface Dialer {

    /** A plain TCP connect from this process. */
    Dialer TCP = (host, port, timeout) -> {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
        }
    };

    /** Connects to {@code host:port} within {@code timeout}, or throws saying why not. */
    void dial(String host, int port, Duration timeout) throws IOException;
}
