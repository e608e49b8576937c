package dev.rayfederation.k8s.member;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An API server that refuses every token the way a real one does since Kubernetes 1.29: a client speaking HTTP/2
 * (here: asking to upgrade to h2c) gets its connection closed with a GOAWAY before any answer, so Java's HTTP
 * client reports "GOAWAY received"; a plain HTTP/1.1 request gets the 401 Status behind it. Loopback only.
 */
final class GoAwayServer implements AutoCloseable {

    private static final byte[] SETTINGS = {0, 0, 0, 0x04, 0, 0, 0, 0, 0};
    private static final byte[] GOAWAY = {0, 0, 8, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    private static final String UNAUTHORIZED = """
            {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}""";

    private final ServerSocket socket;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "goaway-server");
        t.setDaemon(true);
        return t;
    });
    final AtomicInteger goAways = new AtomicInteger();
    final AtomicInteger unauthorized = new AtomicInteger();

    GoAwayServer() {
        try {
            socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        threads.execute(this::accept);
    }

    int port() {
        return socket.getLocalPort();
    }

    private void accept() {
        while (!socket.isClosed()) {
            try {
                Socket s = socket.accept();
                threads.execute(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            String head = readHead(in);
            if (head.toLowerCase(Locale.ROOT).contains("upgrade: h2c")) {
                out.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(SETTINGS);
                out.write(GOAWAY);
                out.flush();
                goAways.incrementAndGet();
                in.transferTo(OutputStream.nullOutputStream()); // until the client closes
            } else {
                byte[] body = UNAUTHORIZED.getBytes(StandardCharsets.UTF_8);
                out.write(("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
                unauthorized.incrementAndGet();
            }
        } catch (SocketException e) {
            // the client went away
        } catch (IOException e) {
            // a test server: nothing to do
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        int b;
        while (matched < 4 && (b = in.read()) >= 0) {
            head.write(b);
            matched = (b == '\r' || b == '\n') && (matched % 2 == 0) == (b == '\r') ? matched + 1 : b == '\r' ? 1 : 0;
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
        threads.shutdownNow();
    }
}
