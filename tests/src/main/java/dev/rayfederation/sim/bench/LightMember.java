package dev.rayfederation.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rayfederation.k8s.render.WorkerPodContract;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.ServerWebSocket;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.vertx.core.net.PemKeyCertOptions;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A member Kubernetes API light enough for 100,000 pods, for the scale-up benchmarks: a Vert.x HTTPS server that
 * keeps each object as the JSON bytes it answers with, in insertion order, under one lock per member.
 *
 * <p>Faithful where the sidecar depends on it, as a real API server behaves:
 * <ul>
 *   <li>list and watch of pods (one namespace or all) and nodes, with label selectors ({@code k=v}, {@code k!=v},
 *       {@code k}, {@code !k}) and field selectors ({@code status.phase}, {@code metadata.name},
 *       {@code metadata.namespace}, {@code spec.nodeName} with {@code =} and {@code !=});</li>
 *   <li>watches over a WebSocket (as fabric8 asks first; one binary message per event) or a chunked HTTP response
 *       (one line per event), as a real API server serves both;</li>
 *   <li>one resourceVersion counter per member: every write gets the next, a list carries the current one, a watch
 *       from a resourceVersion replays what changed after it from a bounded history, and a watch from one older than
 *       that history ends with a 410 {@code Expired} ERROR event (the informer then lists again); a watch without one
 *       starts with ADDED for what exists; bookmarks when asked for; {@code timeoutSeconds} honoured;</li>
 *   <li>create (409 {@code AlreadyExists} for a taken name, {@code generateName}), get, JSON merge patch and delete
 *       of pods (a pod no kubelet runs is deleted at once, as an unscheduled pod is), {@code limit}/{@code continue},
 *       Kubernetes {@code Status} bodies on every error, Events accepted and counted, {@code /version};</li>
 *   <li>TLS with a certificate for 127.0.0.1 (the client verifies it), so a call costs what it costs a real
 *       server's client; latency is added in front by a {@link LatencyProxy}.</li>
 * </ul>
 * Not modelled: scheduling, admission, quotas, authentication (any token is accepted), other kinds.
 */
public final class LightMember implements ApiMember {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] NEWLINE = {'\n'};

    /** How many changes a member remembers for watches that resume from a resourceVersion. */
    public static final int DEFAULT_HISTORY = 200_000;

    private final BenchMember.Spec spec;
    private final int history;
    private final Vertx vertx;
    private final HttpServer server;
    private final Path caCert;
    private final Object lock = new Object();
    private long revision;
    private final Map<String, Stored> pods = new LinkedHashMap<>();   // namespace/name -> pod
    private final Map<String, Stored> nodes = new LinkedHashMap<>();  // name -> node
    private final ArrayDeque<Change> changes = new ArrayDeque<>();
    private final List<Watcher> watchers = new ArrayList<>();
    private final Map<String, AtomicLong> calls = new HashMap<>();
    private long expiredWatches;
    private final java.util.concurrent.atomic.LongAdder connections = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder bytesRead = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder bytesWritten = new java.util.concurrent.atomic.LongAdder();

    private LightMember(BenchMember.Spec spec, int history, Path certDir) {
        this.spec = spec;
        this.history = history;
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
        try {
            Files.createDirectories(certDir);
            Path[] pem = writeCertificate(certDir, spec.name());
            this.caCert = pem[0];
            HttpServerOptions options = new HttpServerOptions().setSsl(true).setHost("127.0.0.1").setPort(0)
                    .setKeyCertOptions(new PemKeyCertOptions().setCertPath(pem[0].toString()).setKeyPath(pem[1].toString()))
                    .setMaxChunkSize(64 * 1024);
            this.server = vertx.createHttpServer(options).requestHandler(this::handle)
                    .webSocketHandler(this::handleWebSocket)
                    .connectionHandler(c -> connections.increment());
            server.listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            vertx.close();
            throw new IllegalStateException("member " + spec.name() + ": cannot start its light API server", e);
        }
    }

    /** Starts the server on a free loopback port with the namespace and the spec's identical Ready nodes. */
    public static LightMember start(BenchMember.Spec spec, Path certDir) {
        return start(spec, certDir, DEFAULT_HISTORY);
    }

    /** As {@link #start(BenchMember.Spec, Path)}, remembering only {@code history} changes for resuming watches. */
    public static LightMember start(BenchMember.Spec spec, Path certDir, int history) {
        LightMember m = new LightMember(spec, history, certDir);
        for (int i = 0; i < spec.nodes(); i++) {
            m.addNode(spec.name() + "-n" + i, i);
        }
        return m;
    }

    @Override
    public String name() {
        return spec.name();
    }

    @Override
    public int port() {
        return server.actualPort();
    }

    @Override
    public Path caCert() {
        return caCert;
    }

    /** {@code https://127.0.0.1:<port>}. */
    public String url() {
        return "https://127.0.0.1:" + port();
    }

    @Override
    public Path writeKubeconfig(Path dir, String serverUrl) {
        return ApiMember.writeKubeconfig(dir, spec.name(), spec.namespace(), serverUrl, caCert);
    }

    @Override
    public Map<String, Integer> workerPodsByNodeId() {
        Map<String, Integer> out = new HashMap<>();
        synchronized (lock) {
            for (Stored p : pods.values()) {
                String id = p.labels.get(WorkerPodContract.LABEL_NODE_ID);
                if (id != null) {
                    out.merge(id, 1, Integer::sum);
                }
            }
        }
        return out;
    }

    /** Pods held now. */
    public int podCount() {
        synchronized (lock) {
            return pods.size();
        }
    }

    /** Calls answered so far by {@code <METHOD> <kind>} ("POST pods", "GET pods watch", ...). */
    public Map<String, Long> calls() {
        synchronized (lock) {
            Map<String, Long> out = new HashMap<>();
            calls.forEach((k, v) -> out.put(k, v.get()));
            return out;
        }
    }

    @Override
    public long[] traffic() {
        return new long[]{bytesRead.sum(), bytesWritten.sum(), connections.sum()};
    }

    /** Watches that were ended with 410 Expired because they asked for a resourceVersion older than the history. */
    public long expiredWatches() {
        synchronized (lock) {
            return expiredWatches;
        }
    }

    /** Closes every watch at once (as an API server restart would); clients reconnect from their resourceVersion. */
    public void dropWatches() {
        List<Watcher> open;
        synchronized (lock) {
            open = new ArrayList<>(watchers);
            watchers.clear();
        }
        open.forEach(w -> w.sink.reset());
    }

    @Override
    public void close() {
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.err.println("bench: light member " + name() + " did not shut down cleanly: " + e);
        }
    }

    // ------------------------------------------------------------------------------------------ the store

    /** One object as answered: its JSON, and what selectors look at. */
    private record Stored(String namespace, String name, long revision, byte[] json, Map<String, String> labels,
                          Map<String, String> fields) {
    }

    /** A change for watches: {@code type} ADDED, MODIFIED or DELETED of {@code kind} pods or nodes. */
    private record Change(long revision, String kind, String type, Stored object) {
    }

    private final class Watcher {
        final String kind;
        final String namespace; // null: every namespace
        final Selector selector;
        final Sink sink;

        Watcher(String kind, String namespace, Selector selector, Sink sink) {
            this.kind = kind;
            this.namespace = namespace;
            this.selector = selector;
            this.sink = sink;
        }

        boolean wants(Change c) {
            return c.kind.equals(kind) && (namespace == null || namespace.equals(c.object.namespace))
                    && selector.matches(c.object);
        }

        void send(String type, byte[] object) {
            Buffer b = Buffer.buffer(object.length + 32);
            b.appendString("{\"type\":\"").appendString(type).appendString("\",\"object\":").appendBytes(object)
                    .appendString("}\n");
            bytesWritten.add(b.length());
            sink.write(b);
        }
    }

    /** Where a watch's events go: a chunked HTTP response or a WebSocket. */
    private interface Sink {
        /** The watch is accepted: a real API server answers a watch's headers at once (clients count it started). */
        void start();

        void write(Buffer event);

        /** Ends the watch normally (the client then watches again from its last resourceVersion). */
        void end();

        /** Breaks the connection, as a restarting API server would. */
        void reset();

        void onClose(Runnable r);
    }

    private static Sink sink(HttpServerResponse response) {
        return new Sink() {
            public void start() {
                response.setChunked(true).putHeader("Content-Type", "application/json").setStatusCode(200).writeHead();
            }

            public void write(Buffer event) {
                response.write(event);
            }

            public void end() {
                response.end();
            }

            public void reset() {
                response.reset();
            }

            public void onClose(Runnable r) {
                response.closeHandler(v -> r.run());
            }
        };
    }

    private static Sink sink(ServerWebSocket ws) {
        return new Sink() {
            public void start() {
            }

            public void write(Buffer event) {
                ws.writeBinaryMessage(event);
            }

            public void end() {
                ws.close();
            }

            public void reset() {
                ws.close((short) 1001, "going away");
            }

            public void onClose(Runnable r) {
                ws.closeHandler(v -> r.run());
            }
        };
    }

    private void addNode(String name, int index) {
        ObjectNode node = JSON.createObjectNode();
        node.put("apiVersion", "v1").put("kind", "Node");
        ObjectNode meta = node.putObject("metadata");
        meta.put("name", name).put("uid", UUID.randomUUID().toString())
                .put("creationTimestamp", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        meta.putObject("labels").put("kubernetes.io/hostname", name);
        node.putObject("spec");
        ObjectNode status = node.putObject("status");
        for (String f : new String[]{"capacity", "allocatable"}) {
            status.putObject(f).put("cpu", Integer.toString(spec.nodeCpu())).put("memory", spec.nodeMemory())
                    .put("pods", Integer.toString(spec.maxPods()));
        }
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        status.putArray("conditions").addObject().put("type", "Ready").put("status", "True").put("reason", "KubeletReady")
                .put("lastHeartbeatTime", now).put("lastTransitionTime", now);
        status.putArray("addresses").addObject().put("type", "InternalIP")
                .put("address", "192.168." + (index / 250) + "." + (index % 250 + 1));
        synchronized (lock) {
            Stored s = store(null, name, node);
            nodes.put(name, s);
            publish(new Change(s.revision, "nodes", "ADDED", s));
        }
    }

    /** Stamps the next resourceVersion on {@code object} and keeps its bytes (under the lock). */
    private Stored store(String namespace, String name, ObjectNode object) {
        long rv = ++revision;
        ObjectNode meta = (ObjectNode) object.get("metadata");
        meta.put("resourceVersion", Long.toString(rv));
        Map<String, String> labels = new HashMap<>();
        JsonNode l = meta.get("labels");
        if (l != null) {
            l.fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
        }
        Map<String, String> fields = new HashMap<>();
        fields.put("metadata.name", name);
        fields.put("metadata.namespace", namespace == null ? "" : namespace);
        fields.put("status.phase", object.path("status").path("phase").asText(""));
        fields.put("spec.nodeName", object.path("spec").path("nodeName").asText(""));
        try {
            return new Stored(namespace, name, rv, JSON.writeValueAsBytes(object), labels, fields);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Records a change and sends it to the watches that want it (under the lock: watches see changes in order). */
    private void publish(Change c) {
        changes.addLast(c);
        while (changes.size() > history) {
            changes.removeFirst();
        }
        for (Watcher w : watchers) {
            if (w.wants(c)) {
                w.send(c.type, c.object.json);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ HTTP

    private void handle(HttpServerRequest req) {
        HttpServerResponse r = req.response();
        r.endHandler(v -> {
            bytesRead.add(req.bytesRead());
            bytesWritten.add(r.bytesWritten());
        });
        try {
            route(req);
        } catch (ApiError e) {
            status(req.response(), e.code, e.reason, e.getMessage());
        } catch (RuntimeException e) {
            status(req.response(), 500, "InternalError", String.valueOf(e));
        }
    }

    private void route(HttpServerRequest req) {
        String path = req.path();
        String[] p = path.replaceAll("/+$", "").split("/");
        // "", "api", "v1", ...
        if (path.equals("/version")) {
            count("GET version");
            json(req.response(), 200, "{\"major\":\"1\",\"minor\":\"31\",\"gitVersion\":\"v1.31.0-light\",\"platform\":\"linux/amd64\"}"
                    .getBytes(StandardCharsets.UTF_8));
            return;
        }
        if (p.length < 4 || !p[1].equals("api") || !p[2].equals("v1")) {
            throw new ApiError(404, "NotFound", "the server could not find the requested resource " + path);
        }
        if (p.length == 4 && (p[3].equals("pods") || p[3].equals("nodes"))) {
            collection(req, p[3], null);
        } else if (p.length == 5 && p[3].equals("nodes")) {
            one(req, "nodes", null, p[4]);
        } else if (p.length == 5 && p[3].equals("namespaces")) {
            count("GET namespaces");
            if (!p[4].equals(spec.namespace())) {
                throw new ApiError(404, "NotFound", "namespaces \"" + p[4] + "\" not found");
            }
            json(req.response(), 200, ("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" + p[4]
                    + "\"},\"status\":{\"phase\":\"Active\"}}").getBytes(StandardCharsets.UTF_8));
        } else if (p.length == 6 && p[3].equals("namespaces") && p[5].equals("pods")) {
            collection(req, "pods", p[4]);
        } else if (p.length == 6 && p[3].equals("namespaces") && p[5].equals("events") && req.method() == HttpMethod.POST) {
            count("POST events");
            req.body().onSuccess(body -> json(req.response(), 201, body.getBytes()));
        } else if (p.length == 7 && p[3].equals("namespaces") && p[5].equals("pods")) {
            one(req, "pods", p[4], p[6]);
        } else {
            throw new ApiError(404, "NotFound", "the server could not find the requested resource " + path);
        }
    }

    private void collection(HttpServerRequest req, String kind, String namespace) {
        if (req.method() == HttpMethod.POST && kind.equals("pods") && namespace != null) {
            count("POST pods");
            req.body().onSuccess(body -> {
                try {
                    create(req.response(), namespace, body);
                } catch (ApiError e) {
                    status(req.response(), e.code, e.reason, e.getMessage());
                } catch (RuntimeException e) {
                    status(req.response(), 500, "InternalError", String.valueOf(e));
                }
            });
            return;
        }
        if (req.method() != HttpMethod.GET) {
            throw new ApiError(405, "MethodNotAllowed", req.method() + " is not supported on " + kind);
        }
        Selector selector = Selector.of(req.getParam("labelSelector"), req.getParam("fieldSelector"));
        if ("true".equals(req.getParam("watch")) || "1".equals(req.getParam("watch"))) {
            count("GET " + kind + " watch");
            watch(req::getParam, kind, namespace, selector, sink(req.response()));
        } else {
            count("GET " + kind + " list");
            list(req, kind, namespace, selector);
        }
    }

    private void list(HttpServerRequest req, String kind, String namespace, Selector selector) {
        int limit = intParam(req::getParam, "limit", 0);
        int offset = 0;
        String cont = req.getParam("continue");
        if (cont != null && !cont.isEmpty()) {
            try {
                offset = Integer.parseInt(new String(Base64.getUrlDecoder().decode(cont), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw new ApiError(400, "BadRequest", "continue: not a token this server gave");
            }
        }
        Buffer out = Buffer.buffer(4096);
        synchronized (lock) {
            Map<String, Stored> all = kind.equals("pods") ? pods : nodes;
            out.appendString("{\"apiVersion\":\"v1\",\"kind\":\"").appendString(kind.equals("pods") ? "PodList" : "NodeList")
                    .appendString("\",\"metadata\":{\"resourceVersion\":\"").appendString(Long.toString(revision)).appendString("\"");
            Buffer items = Buffer.buffer(4096);
            int index = 0;
            int taken = 0;
            boolean more = false;
            for (Stored s : all.values()) {
                if ((namespace != null && !namespace.equals(s.namespace)) || !selector.matches(s)) {
                    continue;
                }
                if (index++ < offset) {
                    continue;
                }
                if (limit > 0 && taken == limit) {
                    more = true;
                    break;
                }
                if (taken++ > 0) {
                    items.appendByte((byte) ',');
                }
                items.appendBytes(s.json);
            }
            if (more) {
                out.appendString(",\"continue\":\"").appendString(Base64.getUrlEncoder().encodeToString(
                        Integer.toString(offset + taken).getBytes(StandardCharsets.UTF_8))).appendString("\"");
            }
            out.appendString("},\"items\":[").appendBuffer(items).appendString("]}");
        }
        req.response().putHeader("Content-Type", "application/json").setStatusCode(200).end(out);
    }

    /** A watch asked for over a WebSocket: {@code GET /api/v1/...?watch=true} with an Upgrade header. */
    private void handleWebSocket(ServerWebSocket ws) {
        try {
            QueryStringDecoder q = new QueryStringDecoder(ws.uri());
            Function<String, String> param = n -> {
                List<String> v = q.parameters().get(n);
                return v == null || v.isEmpty() ? null : v.get(0);
            };
            String[] p = q.path().replaceAll("/+$", "").split("/");
            String kind;
            String namespace = null;
            if (p.length == 4 && p[1].equals("api") && p[2].equals("v1") && (p[3].equals("pods") || p[3].equals("nodes"))) {
                kind = p[3];
            } else if (p.length == 6 && p[1].equals("api") && p[2].equals("v1") && p[3].equals("namespaces") && p[5].equals("pods")) {
                kind = "pods";
                namespace = p[4];
            } else {
                ws.reject(404);
                return;
            }
            if (!"true".equals(param.apply("watch")) && !"1".equals(param.apply("watch"))) {
                ws.reject(400);
                return;
            }
            count("GET " + kind + " watch");
            watch(param, kind, namespace, Selector.of(param.apply("labelSelector"), param.apply("fieldSelector")), sink(ws));
        } catch (ApiError e) {
            ws.reject(e.code);
        }
    }

    private void watch(Function<String, String> param, String kind, String namespace, Selector selector, Sink sink) {
        String from = param.apply("resourceVersion");
        long since = -1;
        if (from != null && !from.isEmpty() && !from.equals("0")) {
            try {
                since = Long.parseLong(from);
            } catch (NumberFormatException e) {
                throw new ApiError(400, "BadRequest", "resourceVersion: '" + from + "' is not a resource version");
            }
        }
        int timeout = intParam(param, "timeoutSeconds", 0);
        sink.start();
        Watcher w = new Watcher(kind, namespace, selector, sink);
        synchronized (lock) {
            if (since < 0) {
                for (Stored s : (kind.equals("pods") ? pods : nodes).values()) {
                    if ((namespace == null || namespace.equals(s.namespace)) && selector.matches(s)) {
                        w.send("ADDED", s.json);
                    }
                }
            } else {
                long oldest = changes.isEmpty() ? revision + 1 : changes.peekFirst().revision;
                if (since < oldest - 1) {
                    expiredWatches++;
                    w.send("ERROR", statusJson(410, "Expired", "too old resource version: " + since + " (" + (oldest - 1) + ")"));
                    sink.end();
                    return;
                }
                for (Iterator<Change> it = changes.iterator(); it.hasNext(); ) {
                    Change c = it.next();
                    if (c.revision > since && w.wants(c)) {
                        w.send(c.type, c.object.json);
                    }
                }
            }
            if ("true".equals(param.apply("allowWatchBookmarks"))) {
                vertx.setPeriodic(10_000, id -> {
                    synchronized (lock) {
                        if (watchers.contains(w)) {
                            sink.write(Buffer.buffer("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"" + (kind.equals("pods") ? "Pod" : "Node")
                                    + "\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" + revision + "\"}}}\n"));
                        } else {
                            vertx.cancelTimer(id);
                        }
                    }
                });
            }
            watchers.add(w);
        }
        sink.onClose(() -> {
            synchronized (lock) {
                watchers.remove(w);
            }
        });
        if (timeout > 0) {
            vertx.setTimer(timeout * 1000L, id -> {
                synchronized (lock) {
                    if (!watchers.remove(w)) {
                        return;
                    }
                }
                sink.end();
            });
        }
    }

    private void create(HttpServerResponse response, String namespace, Buffer body) {
        ObjectNode pod = parse(body);
        ObjectNode meta = object(pod, "metadata");
        String name = meta.path("name").asText("");
        if (name.isEmpty()) {
            String prefix = meta.path("generateName").asText("");
            if (prefix.isEmpty()) {
                throw new ApiError(422, "Invalid", "Pod \"\" is invalid: metadata.name: Required value");
            }
            name = prefix + UUID.randomUUID().toString().substring(0, 5);
            meta.put("name", name);
        }
        if (!meta.path("namespace").asText(namespace).equals(namespace)) {
            throw new ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
        }
        meta.put("namespace", namespace).put("uid", UUID.randomUUID().toString())
                .put("creationTimestamp", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        ObjectNode status = object(pod, "status");
        if (!status.has("phase")) {
            status.put("phase", "Pending");
        }
        String key = namespace + "/" + name;
        Stored s;
        synchronized (lock) {
            if (pods.containsKey(key)) {
                throw new ApiError(409, "AlreadyExists", "pods \"" + name + "\" already exists");
            }
            s = store(namespace, name, pod);
            pods.put(key, s);
            publish(new Change(s.revision, "pods", "ADDED", s));
        }
        json(response, 201, s.json);
    }

    private void one(HttpServerRequest req, String kind, String namespace, String name) {
        String key = namespace == null ? name : namespace + "/" + name;
        Map<String, Stored> all = kind.equals("pods") ? pods : nodes;
        HttpMethod m = req.method();
        count(m + " " + kind + " one");
        if (m == HttpMethod.GET) {
            Stored s;
            synchronized (lock) {
                s = all.get(key);
            }
            if (s == null) {
                throw new ApiError(404, "NotFound", kind + " \"" + name + "\" not found");
            }
            json(req.response(), 200, s.json);
        } else if (m == HttpMethod.DELETE && kind.equals("pods")) {
            Stored gone;
            synchronized (lock) {
                Stored s = pods.remove(key);
                if (s == null) {
                    throw new ApiError(404, "NotFound", "pods \"" + name + "\" not found");
                }
                ObjectNode obj = parse(Buffer.buffer(s.json));
                ((ObjectNode) obj.get("metadata")).put("deletionTimestamp", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString())
                        .put("deletionGracePeriodSeconds", 0);
                gone = store(namespace, name, obj);
                publish(new Change(gone.revision, "pods", "DELETED", gone));
            }
            json(req.response(), 200, gone.json);
        } else if (m == HttpMethod.PATCH && kind.equals("pods")) {
            String type = String.valueOf(req.getHeader("Content-Type"));
            if (!type.startsWith("application/merge-patch+json")) {
                throw new ApiError(415, "UnsupportedMediaType", "only JSON merge patches are served here, not " + type);
            }
            req.body().onSuccess(body -> {
                try {
                    JsonNode patch = parse(body);
                    Stored next;
                    synchronized (lock) {
                        Stored s = pods.get(key);
                        if (s == null) {
                            throw new ApiError(404, "NotFound", "pods \"" + name + "\" not found");
                        }
                        ObjectNode obj = parse(Buffer.buffer(s.json));
                        merge(obj, patch);
                        next = store(namespace, name, obj);
                        pods.put(key, next);
                        publish(new Change(next.revision, "pods", "MODIFIED", next));
                    }
                    json(req.response(), 200, next.json);
                } catch (ApiError e) {
                    status(req.response(), e.code, e.reason, e.getMessage());
                }
            });
        } else {
            throw new ApiError(405, "MethodNotAllowed", m + " is not supported on " + kind + "/" + name);
        }
    }

    /** RFC 7386: objects merge key by key, null removes, anything else replaces. */
    static void merge(ObjectNode target, JsonNode patch) {
        patch.fields().forEachRemaining(e -> {
            JsonNode v = e.getValue();
            if (v.isNull()) {
                target.remove(e.getKey());
            } else if (v.isObject() && target.get(e.getKey()) instanceof ObjectNode t) {
                merge(t, v);
            } else {
                target.set(e.getKey(), v.deepCopy());
            }
        });
    }

    private static ObjectNode object(ObjectNode parent, String field) {
        return parent.get(field) instanceof ObjectNode o ? o : parent.putObject(field);
    }

    private static ObjectNode parse(Buffer body) {
        try {
            JsonNode n = JSON.readTree(body.getBytes());
            if (n instanceof ObjectNode o) {
                return o;
            }
        } catch (IOException e) {
            throw new ApiError(400, "BadRequest", "the body is not JSON: " + e.getMessage());
        }
        throw new ApiError(400, "BadRequest", "the body is not a JSON object");
    }

    private void count(String what) {
        synchronized (lock) {
            calls.computeIfAbsent(what, k -> new AtomicLong()).incrementAndGet();
        }
    }

    private static int intParam(Function<String, String> param, String name, int otherwise) {
        String v = param.apply(name);
        if (v == null || v.isEmpty()) {
            return otherwise;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new ApiError(400, "BadRequest", name + ": '" + v + "' is not a number");
        }
    }

    private static void json(HttpServerResponse response, int code, byte[] body) {
        response.putHeader("Content-Type", "application/json").setStatusCode(code).end(Buffer.buffer(body));
    }

    private static void status(HttpServerResponse response, int code, String reason, String message) {
        if (!response.headWritten()) {
            json(response, code, statusJson(code, reason, message));
        }
    }

    private static byte[] statusJson(int code, String reason, String message) {
        ObjectNode s = JSON.createObjectNode();
        s.put("kind", "Status").put("apiVersion", "v1").putObject("metadata");
        s.put("status", "Failure").put("message", message).put("reason", reason).put("code", code);
        try {
            return JSON.writeValueAsBytes(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An answer other than success: a Kubernetes Status with this code and reason. */
    private static final class ApiError extends RuntimeException {
        final int code;
        final String reason;

        ApiError(int code, String reason, String message) {
            super(message);
            this.code = code;
            this.reason = reason;
        }
    }

    // ------------------------------------------------------------------------------------------ selectors

    /** Equality-based label and field selectors, as the sidecar and fabric8's informers send them. */
    record Selector(List<String[]> labels, List<String[]> fields) {

        static Selector of(String labelSelector, String fieldSelector) {
            return new Selector(terms(labelSelector, "labelSelector"), terms(fieldSelector, "fieldSelector"));
        }

        /** Each term as {op, key, value}: op "=", "!=", "exists" or "!exists". */
        private static List<String[]> terms(String selector, String param) {
            List<String[]> out = new ArrayList<>();
            if (selector == null || selector.isBlank()) {
                return out;
            }
            if (selector.contains("(")) {
                throw new ApiError(400, "BadRequest", param + ": set-based terms (in, notin) are not served here: " + selector);
            }
            for (String t : selector.split(",")) {
                t = t.trim();
                int ne = t.indexOf("!=");
                int eq = t.indexOf('=');
                if (ne > 0) {
                    out.add(new String[]{"!=", t.substring(0, ne), t.substring(ne + 2)});
                } else if (eq > 0) {
                    String v = t.substring(eq + 1);
                    out.add(new String[]{"=", t.substring(0, eq), v.startsWith("=") ? v.substring(1) : v});
                } else if (t.startsWith("!")) {
                    out.add(new String[]{"!exists", t.substring(1), null});
                } else if (!t.isEmpty()) {
                    out.add(new String[]{"exists", t, null});
                }
            }
            return out;
        }

        boolean matches(Stored s) {
            return all(labels, s.labels) && all(fields, s.fields);
        }

        private static boolean all(List<String[]> terms, Map<String, String> values) {
            for (String[] t : terms) {
                String v = values.get(t[1]);
                boolean ok = switch (t[0]) {
                    case "=" -> t[2].equals(v);
                    case "!=" -> !t[2].equals(v);
                    case "exists" -> v != null;
                    default -> v == null;
                };
                if (!ok) {
                    return false;
                }
            }
            return true;
        }
    }

    // ------------------------------------------------------------------------------------------ TLS

    /** A self-signed certificate for 127.0.0.1 and localhost: {cert.pem, key.pem}. */
    private static Path[] writeCertificate(Path dir, String name) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        KeyPair keys = g.generateKeyPair();
        X500Name subject = new X500Name("CN=" + name + ".light-member");
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(1, ChronoUnit.DAYS)), Date.from(now.plus(30, ChronoUnit.DAYS)), subject, keys.getPublic());
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[]{
                new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
        X509Certificate cert = new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        Path certFile = dir.resolve(name + "-light.crt");
        Path keyFile = dir.resolve(name + "-light.key");
        Files.writeString(certFile, pem("CERTIFICATE", cert.getEncoded()));
        Files.writeString(keyFile, pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
        return new Path[]{certFile, keyFile};
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }
}
