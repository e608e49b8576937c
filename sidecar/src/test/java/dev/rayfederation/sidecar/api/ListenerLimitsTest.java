package dev.rayfederation.sidecar.api;

import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.federation.Federation;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.provision.TestConfigs;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The limits both listeners (the node-provider API and the management port) put on a connection, as a client meets
 * them over a raw socket: a request line up to 8 KiB and headers up to 16 KiB are served, longer ones get an HTTP
 * error and create nothing; a connection idle for the idle timeout (30 s in the product, shortened here) is closed,
 * whether it is a kept-alive connection between requests or a client that sent part of a request and stopped.
 */
@DisplayName("Listener limits: request line, headers, idle connections")
class ListenerLimitsTest {

    /** Short, so an idle connection is seen closed quickly; the product's is 30 s. */
    private static final Duration IDLE = Duration.ofMillis(700);
    /** How long a read may wait for the server before the test gives up: far above {@link #IDLE}. */
    private static final int DEADLINE_MS = 20_000;

    private final Vertx vertx = Vertx.vertx();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final InMemoryMemberCluster aws = InMemoryMemberCluster.builder("aws-use1", "aws", 2,
            ResourceVector.ofQuantities(Map.of("CPU", "16", "memory", "64Gi"))).build();
    private Federation federation;
    private int apiPort;
    private int managementPort;

    @BeforeEach
    void listen() throws Exception {
        FederationConfig config = TestConfigs.config(List.of(TestConfigs.cluster("aws-use1", "aws", 0)),
                List.of(new VirtualCluster("vc", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("cpu", "vc", Map.of("CPU", "4"), 8, Strategies.SPREAD, List.of("aws-use1"))));
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        members.put(aws.name(), aws);
        NodeRegistry registry = new NodeRegistry();
        FederationMetrics metrics = new FederationMetrics().observe(config, registry, members);
        federation = new Federation(config, members, registry, scheduler, metrics);
        federation.start();
        await().atMost(Duration.ofSeconds(20)).until(federation::ready);
        // the listeners as Main opens them (api.listen and management.listen are 127.0.0.1:0: free ports)
        apiPort = new ApiServer(vertx, federation, federation, null, metrics).idleTimeout(IDLE).listen()
                .await(10, TimeUnit.SECONDS).actualPort();
        managementPort = new ManagementServer(vertx, config.management().listen(), federation, metrics::scrape)
                .idleTimeout(IDLE).listen().await(10, TimeUnit.SECONDS).actualPort();
    }

    @AfterEach
    void stop() {
        vertx.close().await();
        scheduler.shutdownNow();
    }

    private static final String CREATE = "{\"nodeType\":\"cpu\",\"count\":1,\"requestId\":\"%s\"}";

    /** POST /v1/nodes creating one worker; {@code target} may carry a query, {@code extra} more header lines. */
    private static String create(String target, String requestId, String extra) {
        String body = CREATE.formatted(requestId);
        return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n" + extra + "\r\n" + body;
    }

    private static String get(String target, String extra, boolean close) {
        return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (close ? "Connection: close\r\n" : "") + extra + "\r\n";
    }

    /** A query that makes the request line {@code length} bytes long ({@code METHOD target HTTP/1.1}). */
    private static String padded(String method, String path, int length) {
        String prefix = path + "?pad=";
        int pad = length - (method.length() + 1 + prefix.length() + " HTTP/1.1".length());
        return prefix + "x".repeat(pad);
    }

    /** A header line of {@code size} bytes, CRLF included. */
    private static String header(int size) {
        return "X-Pad: " + "x".repeat(size - "X-Pad: \r\n".length()) + "\r\n";
    }

    /** Sends {@code request} on a new connection and reads until the server closes it; returns the status code. */
    private static int exchange(int port, String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(DEADLINE_MS);
            s.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            // a request line too long to read is answered as HTTP/1.0 (its version was never read)
            assertThat(answer).matches("(?s)HTTP/1\\.[01] \\d{3} .*");
            return Integer.parseInt(answer.substring(9, 12));
        }
    }

    @Test
    @DisplayName("API: a request line of 6 KiB is served; one over 8 KiB is a 414 and creates nothing")
    void apiRequestLine() throws Exception {
        // 6 KiB is over Vert.x's own default (4 KiB): served only because the limit is raised to 8 KiB
        assertThat(exchange(apiPort, create(padded("POST", "/v1/nodes", 6 * 1024), "short", ""))).isEqualTo(201);
        assertThat(aws.pods()).hasSize(1);

        assertThat(exchange(apiPort, create(padded("POST", "/v1/nodes", 8 * 1024 + 1), "long", ""))).isEqualTo(414);
        assertThat(exchange(apiPort, create(padded("POST", "/v1/nodes", 9 * 1024), "longer", ""))).isEqualTo(414);

        assertThat(aws.pods()).as("nothing created by the refused requests").hasSize(1);
        assertThat(federation.snapshot().nodes()).hasSize(1);
    }

    @Test
    @DisplayName("API: headers of 12 KiB are served; over 16 KiB they are a 431 and create nothing")
    void apiHeaders() throws Exception {
        // 12 KiB is over Vert.x's own default (8 KiB): served only because the limit is raised to 16 KiB
        assertThat(exchange(apiPort, create("/v1/nodes", "small", header(12 * 1024)))).isEqualTo(201);
        assertThat(aws.pods()).hasSize(1);

        assertThat(exchange(apiPort, create("/v1/nodes", "large", header(17 * 1024)))).isEqualTo(431);
        assertThat(exchange(apiPort, create("/v1/nodes", "split", header(9 * 1024) + header(9 * 1024)))).isEqualTo(431);

        assertThat(aws.pods()).as("nothing created by the refused requests").hasSize(1);
        assertThat(federation.snapshot().nodes()).hasSize(1);
    }

    @Test
    @DisplayName("Management: the same request-line and header limits (414, 431)")
    void managementLimits() throws Exception {
        assertThat(exchange(managementPort, get(padded("GET", "/healthz", 6 * 1024), "", true))).isEqualTo(200);
        assertThat(exchange(managementPort, get(padded("GET", "/healthz", 9 * 1024), "", true))).isEqualTo(414);
        assertThat(exchange(managementPort, get("/healthz", header(12 * 1024), true))).isEqualTo(200);
        assertThat(exchange(managementPort, get("/healthz", header(17 * 1024), true))).isEqualTo(431);
    }

    /** Reads one response with a Content-Length body from {@code in}; returns its status line. */
    private static String response(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            assertThat(b).as("connection closed in the middle of a response").isNotNegative();
            head.write(b);
        }
        String text = head.toString(StandardCharsets.ISO_8859_1);
        int length = text.lines().filter(l -> l.regionMatches(true, 0, "Content-Length:", 0, 15))
                .map(l -> Integer.parseInt(l.substring(15).trim())).findFirst().orElseThrow();
        assertThat(in.readNBytes(length)).hasSize(length);
        return text.substring(0, text.indexOf("\r\n"));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"api", "management"})
    @DisplayName("A kept-alive connection serves several requests, and is closed by the server once idle")
    void idleKeepAliveIsClosed(String listener) throws Exception {
        int port = listener.equals("api") ? apiPort : managementPort;
        String request = get(listener.equals("api") ? "/v1/clusters" : "/healthz", "", false);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(DEADLINE_MS);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            for (int i = 0; i < 2; i++) {
                out.write(request.getBytes(StandardCharsets.US_ASCII));
                out.flush();
                assertThat(response(in)).isEqualTo("HTTP/1.1 200 OK");
            }
            // then the client sends nothing: the server closes the connection (a read times out at the deadline if not)
            assertThat(in.read()).as("end of stream: the server closed the idle connection").isEqualTo(-1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"api: part of the headers", "api: headers and part of the body", "management: part of the headers"})
    @DisplayName("A client that sends part of a request and stops (slowloris) is disconnected after the idle timeout; nothing is created")
    void partialRequestIsClosed(String what) throws Exception {
        String create = create("/v1/nodes", "slow", "").replace("Connection: close\r\n", "");
        String partial = switch (what) {
            case "api: part of the headers" -> create.substring(0, create.indexOf("Content-Type") + 6);
            case "api: headers and part of the body" -> create.substring(0, create.length() - 10);
            default -> get("/healthz", "", false).substring(0, 30);
        };
        try (Socket s = new Socket("127.0.0.1", what.startsWith("api") ? apiPort : managementPort)) {
            s.setSoTimeout(DEADLINE_MS);
            s.getOutputStream().write(partial.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            // whatever the server answers (Vert.x answers nothing), it then closes the connection; a read that times
            // out at the deadline (the connection held open) fails the test
            s.getInputStream().readAllBytes();
        }
        assertThat(aws.pods()).isEmpty();
        assertThat(federation.snapshot().nodes()).isEmpty();
    }
}
