package dev.rayfederation.sim.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on a free loopback port in front of one API server, adding a fixed latency to every call: each chunk
 * of bytes the client sends reaches the server {@code latency} after it arrived (a request, or a TLS handshake
 * flight, is one chunk or a few sent together, so a call costs one latency). Answers flow back at once, so watches
 * keep streaming. It works below HTTP and TLS: the client still checks the server's certificate end to end.
 *
 * <p>{@link #outage(Outage)} simulates the member going away: {@link Outage#DOWN} resets every connection, open or
 * new (an API server that is gone); {@link Outage#BLACKHOLE} keeps connections open and silently drops everything
 * (a network partition: calls hang until the client's timeout); {@link Outage#ANSWERS_LOST} lets requests reach the
 * server but drops its answers (a partition that cuts the way back: creates take effect, nobody hears of it).
 * {@link Outage#NONE} heals it; connections from during the outage are closed then.
 */
public final class LatencyProxy implements AutoCloseable {

    /** What the proxy does with traffic. */
    public enum Outage {
        /** Traffic passes, delayed by the latency. */
        NONE,
        /** Every connection is reset at once, new ones too. */
        DOWN,
        /** Connections are accepted and held; nothing is forwarded either way. */
        BLACKHOLE,
        /** Connections are accepted and held; requests reach the server, its answers are dropped. */
        ANSWERS_LOST
    }

    private static final int BUFFER = 64 * 1024;

    private final InetSocketAddress target;
    private final long latencyNanos;
    private final ServerSocket server;
    private final ExecutorService threads;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final AtomicLong chunks = new AtomicLong();
    private volatile Outage outage = Outage.NONE;
    private volatile boolean closed;

    private LatencyProxy(InetSocketAddress target, Duration latency) throws IOException {
        this.target = target;
        this.latencyNanos = latency.toNanos();
        this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        AtomicInteger n = new AtomicInteger();
        this.threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "latency-proxy-" + server.getLocalPort() + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts a proxy to {@code 127.0.0.1:targetPort} that delays each call by {@code latency}. */
    public static LatencyProxy start(int targetPort, Duration latency) {
        if (latency.isNegative()) {
            throw new IllegalArgumentException("latency: must be >= 0, got " + latency);
        }
        try {
            LatencyProxy proxy = new LatencyProxy(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), latency);
            proxy.threads.execute(proxy::acceptLoop);
            return proxy;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a proxy port in front of 127.0.0.1:" + targetPort, e);
        }
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Chunks forwarded to the server so far (about one per call). */
    public long forwardedChunks() {
        return chunks.get();
    }

    /** Starts or ends an outage (see {@link Outage}). */
    public void outage(Outage mode) {
        Outage before = outage;
        outage = mode;
        if (mode == Outage.DOWN || (mode == Outage.NONE && before != Outage.NONE)) {
            links.forEach(Link::reset);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    threads.execute(this::acceptLoop);
                }
                return;
            }
            if (outage == Outage.DOWN) {
                resetQuietly(client);
                continue;
            }
            try {
                Socket upstream = new Socket();
                upstream.setTcpNoDelay(true);
                client.setTcpNoDelay(true);
                upstream.connect(target, 5_000);
                Link link = new Link(client, upstream, outage);
                links.add(link);
                link.start();
            } catch (IOException e) {
                resetQuietly(client);
            }
        }
    }

    /** One client connection and its connection to the server. */
    private final class Link {
        private final Socket client;
        private final Socket upstream;
        private final Outage bornIn;
        private final LinkedBlockingQueue<Chunk> toServer = new LinkedBlockingQueue<>();

        Link(Socket client, Socket upstream, Outage at) {
            this.client = client;
            this.upstream = upstream;
            this.bornIn = at;
        }

        void start() {
            threads.execute(this::readClient);
            threads.execute(this::writeServer);
            threads.execute(this::copyBack);
        }

        /** Requests are dropped in a blackhole (and on a connection opened in one: it is never healed). */
        private boolean droppingRequests() {
            return bornIn == Outage.BLACKHOLE || outage == Outage.BLACKHOLE;
        }

        private boolean droppingAnswers() {
            return bornIn != Outage.NONE || outage != Outage.NONE;
        }

        private void readClient() {
            byte[] buf = new byte[BUFFER];
            try (InputStream in = client.getInputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (!droppingRequests()) {
                        toServer.add(new Chunk(Arrays.copyOf(buf, n), System.nanoTime() + latencyNanos));
                    }
                }
            } catch (IOException e) {
                // connection closed or reset
            } finally {
                toServer.add(Chunk.END);
            }
        }

        private void writeServer() {
            try (OutputStream out = upstream.getOutputStream()) {
                while (true) {
                    Chunk c = toServer.take();
                    if (c == Chunk.END) {
                        upstream.shutdownOutput();
                        return;
                    }
                    long wait = c.due() - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    if (!droppingRequests()) {
                        out.write(c.bytes());
                        out.flush();
                        chunks.incrementAndGet();
                    }
                }
            } catch (IOException | InterruptedException e) {
                close();
            }
        }

        private void copyBack() {
            byte[] buf = new byte[BUFFER];
            try (InputStream in = upstream.getInputStream(); OutputStream out = client.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (!droppingAnswers()) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                }
            } catch (IOException e) {
                // connection closed or reset
            } finally {
                close();
            }
        }

        void reset() {
            resetQuietly(client);
            close();
        }

        void close() {
            links.remove(this);
            closeQuietly(client);
            closeQuietly(upstream);
        }
    }

    private record Chunk(byte[] bytes, long due) {
        static final Chunk END = new Chunk(new byte[0], 0);
    }

    private static void resetQuietly(Socket s) {
        try {
            s.setSoLinger(true, 0); // close with RST
        } catch (SocketException e) {
            // already closed
        }
        closeQuietly(s);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // nothing left to do
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
        links.forEach(Link::close);
        threads.shutdownNow();
    }
}
