package dev.rayfederation.sidecar.api;

import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.federation.FederationState;
import dev.rayfederation.sidecar.federation.MemberNotFoundException;
import dev.rayfederation.sidecar.federation.NodeProvider;
import dev.rayfederation.sidecar.json.Json;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.provision.CreateOutcome;
import dev.rayfederation.sidecar.provision.CreateRequest;
import dev.rayfederation.sidecar.provision.NodeNotFoundException;
import dev.rayfederation.sidecar.provision.NodeTerminator.TerminateOutcome;
import dev.rayfederation.sidecar.provision.RequestConflictException;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The node-provider HTTP API on {@code api.listen}: routing, request parsing and the views. Reads are answered
 * from memory; a create is validated, handed to the {@link NodeProvider}, and answered once its pods exist in the
 * members. Every failure, from this layer or from the domain, becomes {@code {"error": {"code", "message",
 * "field"}}} in one place: {@link #failure}.
 */
public final class ApiServer {

    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    public static final long BODY_LIMIT = 1024 * 1024;
    /** Cordon and uncordon paths: {@code /v1/clusters/{name}:cordon}, {@code :uncordon}. */
    static final String CORDON = "/v1/clusters/[a-z][a-z0-9-]*:(cordon|uncordon)";
    private static final Pattern CORDON_PATH = Pattern.compile(CORDON);

    private final Vertx vertx;
    private final NodeProvider provider;
    private final FederationState state;
    private final RequestParser parser;
    private final FederationMetrics metrics;
    private final byte[] token;
    private final byte[] openapi;
    private final String bootId = UUID.randomUUID().toString().substring(0, 8);
    private final NodeListing listing = new NodeListing();
    private Duration idleTimeout = IDLE_TIMEOUT;

    /** @param token bearer token every /v1 call must carry, or null for none (loopback only) */
    public ApiServer(Vertx vertx, NodeProvider provider, FederationState state, String token, FederationMetrics metrics) {
        this.vertx = vertx;
        this.metrics = metrics;
        this.provider = provider;
        this.state = state;
        this.parser = new RequestParser(state::config);
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
        this.openapi = loadOpenApi();
    }

    public Future<HttpServer> listen() {
        FederationConfig.HostPort at = state.config().api().listen(); // cannot change live
        return vertx.createHttpServer(listenerOptions(idleTimeout).setCompressionSupported(true))
                .requestHandler(router())
                .listen(at.port(), at.host().replace("[", "").replace("]", ""));
    }

    /** Another idle timeout than {@value #IDLE_TIMEOUT_S} s, for tests; before {@link #listen()}. */
    ApiServer idleTimeout(Duration timeout) {
        this.idleTimeout = timeout;
        return this;
    }

    /**
     * Options of both listeners: a connection idle for {@code idleTimeout} ({@value #IDLE_TIMEOUT_S} s in the product)
     * is closed (slow or abandoned clients cannot hold connections forever), request lines and headers are bounded.
     */
    static HttpServerOptions listenerOptions(Duration idleTimeout) {
        return new HttpServerOptions().setIdleTimeout(Math.toIntExact(idleTimeout.toMillis()))
                .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
                .setMaxInitialLineLength(8192).setMaxHeaderSize(16 * 1024);
    }

    static final int IDLE_TIMEOUT_S = 30;
    static final Duration IDLE_TIMEOUT = Duration.ofSeconds(IDLE_TIMEOUT_S);

    public Router router() {
        Router router = Router.router(vertx);
        router.route().handler(this::timed);
        router.route().handler(BodyHandler.create(false).setBodyLimit(BODY_LIMIT));
        router.route("/v1/*").handler(this::authenticate);
        router.get("/v1/openapi.yaml").handler(ctx -> ctx.response()
                .putHeader("Content-Type", "application/yaml").end(Buffer.buffer(openapi)));
        router.route("/v1/*").handler(this::requireReady);
        router.get("/v1/nodes").handler(this::getNodes);
        router.post("/v1/nodes").handler(this::createNodes);
        router.postWithRegex("/v1/nodes:terminate").handler(this::terminateNodes);
        router.put("/v1/nodes/:id/tags").handler(this::putTags);
        router.get("/v1/node-types").handler(ctx -> json(ctx, 200, NodeTypesView.of(state.config())));
        router.get("/v1/clusters").handler(ctx -> json(ctx, 200, ClustersView.of(state)));
        router.postWithRegex(CORDON).handler(this::cordon);
        router.get("/v1/pools").handler(ctx -> json(ctx, 200, PoolsView.of(state)));
        router.get("/v1/events").handler(ctx -> json(ctx, 200, EventsView.of(state, query(ctx))));
        router.route().failureHandler(this::failure);
        router.errorHandler(404, ctx -> error(ctx, new ApiException(404, "not_found",
                "no such endpoint: " + ctx.request().method() + " " + ctx.request().path(), null)));
        router.errorHandler(405, ctx -> error(ctx, new ApiException(405, "method_not_allowed",
                ctx.request().method() + " is not allowed on " + ctx.request().path(), null)));
        return router;
    }

    private void timed(RoutingContext ctx) {
        long start = System.nanoTime();
        ctx.addEndHandler(v -> metrics.http(route(ctx.request().path()), ctx.request().method().name(),
                ctx.response().getStatusCode(), (System.nanoTime() - start) / 1e9));
        ctx.next();
    }

    /** The route template of a path (bounded label values). */
    static String route(String path) {
        return switch (path) {
            case "/v1/nodes", "/v1/nodes:terminate", "/v1/node-types", "/v1/clusters", "/v1/pools", "/v1/events",
                 "/v1/openapi.yaml" -> path;
            default -> path.startsWith("/v1/nodes/") && path.endsWith("/tags") ? "/v1/nodes/{id}/tags"
                    : CORDON_PATH.matcher(path).matches()
                    ? "/v1/clusters/{name}:" + path.substring(path.lastIndexOf(':') + 1) : "other";
        };
    }

    /** The query parameters, each with every value given. */
    static Map<String, List<String>> query(RoutingContext ctx) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (String name : ctx.queryParams().names()) {
            out.put(name, ctx.queryParams().getAll(name));
        }
        return out;
    }

    private void authenticate(RoutingContext ctx) {
        if (token == null) {
            ctx.next();
            return;
        }
        String header = ctx.request().getHeader("Authorization");
        byte[] presented = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)
                ? header.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!MessageDigest.isEqual(presented, token)) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
            error(ctx, new ApiException(401, "unauthorized", header == null
                    ? "missing Authorization: Bearer <token>" : "invalid bearer token", null));
            return;
        }
        ctx.next();
    }

    private void requireReady(RoutingContext ctx) {
        if (!state.ready()) {
            ctx.response().putHeader("Retry-After", "1");
            error(ctx, ApiException.notReady("not ready: " + String.join("; ", state.notReadyReasons())));
            return;
        }
        ctx.next();
    }

    private void getNodes(RoutingContext ctx) {
        Map<String, String> tagFilter = new LinkedHashMap<>();
        String since = null;
        for (Map.Entry<String, String> p : ctx.queryParams()) {
            if (p.getKey().equals("since")) {
                if (since != null) {
                    throw ApiException.invalid("since", "since given more than once");
                }
                since = p.getValue();
                continue;
            }
            if (!p.getKey().startsWith("tag.") || p.getKey().length() == 4) {
                throw ApiException.invalid(p.getKey(), "unknown query parameter '" + p.getKey()
                        + "'; filter with tag.<key>=<value>, or ask for changes with since=<revision>");
            }
            tagFilter.put(p.getKey().substring(4), p.getValue());
        }
        long sinceRevision = since == null ? 0 : sinceRevision(since);
        if (since != null && !tagFilter.isEmpty()) {
            throw ApiException.invalid("since", "since cannot be combined with tag filters; ask for all changes");
        }
        NodeRegistry.Snapshot snapshot = state.snapshot();
        String etag = "\"" + bootId + "-" + snapshot.revision() + "\"";
        ctx.response().putHeader("ETag", etag).putHeader("Cache-Control", "no-cache");
        if (matches(ctx.request().getHeader("If-None-Match"), etag)) {
            ctx.response().setStatusCode(304).end();
            return;
        }
        Buffer body;
        if (since != null) {
            // A revision of another boot of the sidecar, or one it no longer holds: 410, and the caller lists in full
            // (as a Kubernetes watch answers a resourceVersion that is too old).
            Optional<Buffer> changes = since.startsWith(bootId + "-")
                    ? listing.changes(snapshot, etagValue(etag), sinceRevision, since)
                    : Optional.empty();
            if (changes.isEmpty()) {
                throw ApiException.gone("since", "revision '" + since + "' is no longer held (the sidecar keeps the last "
                        + NodeListing.HISTORY + " listings it answered, and none across a restart); list without since");
            }
            body = changes.get();
        } else if (tagFilter.isEmpty()) {
            body = listing.all(snapshot, etagValue(etag));
        } else {
            Predicate<NodeRecord> filter = n -> tagFilter.entrySet().stream()
                    .allMatch(f -> f.getValue().equals(n.tags().get(f.getKey())));
            body = listing.matching(snapshot, etagValue(etag), filter);
        }
        ctx.response().putHeader("Content-Type", "application/json").end(body);
    }

    /** The revision number of a listing's {@code revision} ({@code <boot>-<number>}); 400 naming since otherwise. */
    private static long sinceRevision(String since) {
        int dash = since.lastIndexOf('-');
        String number = dash < 0 ? "" : since.substring(dash + 1);
        if (dash > 0 && !number.isEmpty() && number.chars().allMatch(c -> c >= '0' && c <= '9') && number.length() <= 18) {
            return Long.parseLong(number);
        }
        throw ApiException.invalid("since", "since must be the revision of an earlier listing ("
                + "<boot>-<number>, as in its \"revision\"), got '" + since + "'");
    }

    private static String etagValue(String etag) {
        return etag.substring(1, etag.length() - 1);
    }

    static boolean matches(String ifNoneMatch, String etag) {
        if (ifNoneMatch == null) {
            return false;
        }
        for (String candidate : ifNoneMatch.split(",")) {
            String c = candidate.trim();
            if (c.startsWith("W/")) {
                c = c.substring(2);
            }
            if (c.equals(etag) || c.equals("*")) {
                return true;
            }
        }
        return false;
    }

    private void createNodes(RoutingContext ctx) {
        CreateRequest request = parser.create(ctx.body().asString());
        Future.fromCompletionStage(provider.create(request), ctx.vertx().getOrCreateContext())
                .timeout(state.config().timing().requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .onSuccess(outcome -> json(ctx, outcome.replay() ? 200 : 201, createAnswer(outcome)))
                .onFailure(err -> {
                    if (err instanceof TimeoutException) {
                        error(ctx, new ApiException(503, "in_progress", "request " + request.requestId()
                                + " is still being carried out; repeat it with the same requestId for its answer", null));
                    } else {
                        ctx.fail(err);
                    }
                });
    }

    private static Map<String, Object> createAnswer(CreateOutcome outcome) {
        Map<String, Object> rejected = new LinkedHashMap<>();
        rejected.put("count", outcome.rejected().count());
        rejected.put("reason", outcome.rejected().reason());
        rejected.put("message", outcome.rejected().message());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("requestId", outcome.requestId());
        out.put("created", outcome.created());
        out.put("pending", outcome.pending());
        out.put("rejected", rejected);
        return out;
    }

    private void terminateNodes(RoutingContext ctx) {
        List<String> ids = parser.terminate(ctx.body().asString());
        TerminateOutcome outcome = provider.terminate(ids);
        json(ctx, 200, Map.of("terminating", outcome.terminating(), "unknown", outcome.unknown()));
    }

    private void putTags(RoutingContext ctx) {
        Map<String, String> tags = parser.tags(ctx.body().asString());
        String id = ctx.pathParam("id");
        state.snapshot().nodes().stream().filter(n -> n.id().equals(id)).findFirst()
                .ifPresent(n -> RequestParser.checkMergedTags(n.tags(), tags));
        NodeRecord node = provider.setTags(id, tags);
        boolean stale = state.snapshot().staleMembers().contains(node.member());
        ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json")
                .end(Buffer.buffer(NodesView.one(node, stale)));
    }

    /** POST /v1/clusters/{name}:cordon or :uncordon; answers the member's cordon as GET /v1/clusters shows it. */
    private void cordon(RoutingContext ctx) {
        String path = ctx.request().path();
        String member = path.substring("/v1/clusters/".length(), path.lastIndexOf(':'));
        if (path.endsWith(":cordon")) {
            RequestParser.CordonRequest request = parser.cordon(ctx.body().asString());
            provider.cordon(member, request.by(), request.reason());
        } else {
            provider.uncordon(member);
        }
        json(ctx, 200, ClustersView.cordon(member, state));
    }

    /** The one place where failures (of this layer and of the domain) become the JSON error shape. */
    private void failure(RoutingContext ctx) {
        Throwable f = ctx.failure();
        if (f instanceof ApiException api) {
            error(ctx, api);
        } else if (f instanceof RequestConflictException conflict) {
            error(ctx, ApiException.conflict("requestId", conflict.getMessage()));
        } else if (f instanceof NodeNotFoundException missing) {
            error(ctx, ApiException.notFound(missing.getMessage()));
        } else if (f instanceof MemberNotFoundException missing) {
            error(ctx, ApiException.notFound(missing.getMessage()));
        } else if (ctx.statusCode() == 413) {
            error(ctx, new ApiException(413, "too_large", "request body exceeds " + BODY_LIMIT + " bytes", null));
        } else if (f == null && ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
            error(ctx, new ApiException(ctx.statusCode(), "invalid", "bad request", null));
        } else {
            LOG.error("{} {} failed", ctx.request().method(), ctx.request().path(), f);
            error(ctx, new ApiException(500, "internal", "internal error: "
                    + (f == null ? "unknown" : f.getClass().getSimpleName() + ": " + f.getMessage()), null));
        }
    }

    static void error(RoutingContext ctx, ApiException e) {
        if (ctx.response().ended()) {
            return;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("code", e.code());
        body.put("message", e.getMessage());
        if (e.field() != null) {
            body.put("field", e.field());
        }
        json(ctx, e.status(), Map.of("error", body));
    }

    static void json(RoutingContext ctx, int status, Object body) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
                .end(Buffer.buffer(Json.bytes(body)));
    }

    private static byte[] loadOpenApi() {
        try (InputStream in = ApiServer.class.getResourceAsStream("/openapi.yaml")) {
            if (in == null) {
                throw new IllegalStateException("openapi.yaml missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

}
