package dev.rayfederation.k8s.member;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A TCP proxy on a free loopback port in front of an API server that can go silent, as a network partition does:
 * while {@link #silence() silent} it keeps accepting connections and keeps the open ones open, but forwards nothing
 * either way (no reset, no close: calls hang until the client gives up, watches just stop hearing). {@link #heal()}
 * lets traffic pass again and resets the connections that lost bytes meanwhile, as their HTTP streams are broken.
 */
final class Blackhole implements AutoCloseable {

    private static final int BUFFER = 16 * 1024;

    private final InetSocketAddress target;
    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "blackhole");
        t.setDaemon(true);
        return t;
    });
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private volatile boolean silent;
    private volatile boolean closed;

    private Blackhole(int targetPort) throws IOException {
        this.target = new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort);
        this.server = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
        threads.execute(this::acceptLoop);
    }

    /** A proxy to {@code 127.0.0.1:targetPort}, passing traffic. */
    static Blackhole inFrontOf(int targetPort) {
        try {
            return new Blackhole(targetPort);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int port() {
        return server.getLocalPort();
    }

    /** From now on nothing passes, on open connections or new ones. */
    void silence() {
        silent = true;
        links.forEach(Link::lost);
    }

    /** Traffic passes again; connections that lost bytes are reset (their clients open new ones). */
    void heal() {
        silent = false;
        links.stream().filter(Link::broken).forEach(Link::reset);
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket();
                upstream.connect(target, 5_000);
                Link link = new Link(client, upstream);
                links.add(link);
                if (silent) {
                    link.lost();
                }
                threads.execute(() -> link.pump(client, upstream));
                threads.execute(() -> link.pump(upstream, client));
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    /** One client connection and its connection to the API server. */
    private final class Link {
        private final Socket client;
        private final Socket upstream;
        private volatile boolean broken;

        Link(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        void lost() {
            broken = true;
        }

        boolean broken() {
            return broken;
        }

        /** Copies {@code from} to {@code to}, dropping what arrives while silent; reading goes on so nothing closes. */
        void pump(Socket from, Socket to) {
            byte[] buf = new byte[BUFFER];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (!silent && !broken) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                }
            } catch (IOException e) {
                // closed or reset
            } finally {
                close();
            }
        }

        void reset() {
            try {
                client.setSoLinger(true, 0);
            } catch (SocketException e) {
                // already closed
            }
            close();
        }

        void close() {
            links.remove(this);
            closeQuietly(client);
            closeQuietly(upstream);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        links.forEach(Link::close);
        threads.shutdownNow();
    }

    private static void closeQuietly(ServerSocket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
