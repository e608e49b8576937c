package dev.rayfederation.sidecar.api;

import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.federation.FederationState;
import dev.rayfederation.sidecar.federation.Reconfiguration;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The management listener: {@code /healthz} (the process serves), {@code /readyz} (config loaded and every
 * member synced or marked unreachable; 503 with reasons otherwise; members failing their network preflight named
 * under {@code warnings} either way) and {@code /metrics}; and, read-only and without
 * the API token, the views {@code GET /v1/clusters}, {@code /v1/pools} and {@code /v1/events}, so operators and
 * dashboards can see placement without the token that can create and terminate workers. Anything but GET under
 * {@code /v1/} answers 405.
 */
public final class ManagementServer {

    static final List<String> READ_ONLY_VIEWS = List.of("/v1/clusters", "/v1/pools", "/v1/events");

    private final Vertx vertx;
    private final FederationConfig.HostPort listen;
    private final FederationState state;
    private final Supplier<String> metrics;
    private volatile boolean shuttingDown;
    private Duration idleTimeout = ApiServer.IDLE_TIMEOUT;

    /** @param metrics Prometheus text exposition, produced on each scrape */
    public ManagementServer(Vertx vertx, FederationConfig.HostPort listen, FederationState state,
                            Supplier<String> metrics) {
        this.vertx = vertx;
        this.listen = listen;
        this.state = state;
        this.metrics = metrics;
    }

    /** Readiness turns false at once; used first in an ordered shutdown. */
    public void shuttingDown() {
        shuttingDown = true;
    }

    /** Another idle timeout than the product's, for tests; before {@link #listen()}. */
    ManagementServer idleTimeout(Duration timeout) {
        this.idleTimeout = timeout;
        return this;
    }

    public Future<HttpServer> listen() {
        return vertx.createHttpServer(ApiServer.listenerOptions(idleTimeout)).requestHandler(router())
                .listen(listen.port(), listen.host().replace("[", "").replace("]", ""));
    }

    Router router() {
        Router router = Router.router(vertx);
        router.get("/healthz").handler(ctx -> ApiServer.json(ctx, 200, Map.of("status", "ok")));
        router.get("/readyz").handler(ctx -> {
            List<String> reasons = shuttingDown ? List.of("shutting down") : state.notReadyReasons();
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("ready", reasons.isEmpty());
            body.put("reasons", reasons);
            Map<String, String> members = new LinkedHashMap<>();
            state.members().forEach((name, m) -> members.put(name, m.state().wire()
                    + (m.stateReason() == null ? "" : ": " + m.stateReason())));
            body.put("members", members);
            // a failed preflight does not make the sidecar unready: that would take the whole head pod out of its
            // Service; it is named here, and placement keeps away from the member
            Map<String, String> preflight = new LinkedHashMap<>();
            List<String> warnings = new ArrayList<>();
            state.preflight().forEach((name, p) -> {
                preflight.put(name, p.describe());
                if (p.failed()) {
                    warnings.add("member " + name + " failed network preflight (" + p.direction() + ": " + p.error()
                            + ")" + (state.config().preflight().enforce() ? ": it takes no new workers" : ""));
                }
            });
            body.put("warnings", warnings);
            body.put("preflight", preflight);
            Reconfiguration.Status config = state.configStatus();
            body.put("config", Map.of("generation", config.generation(),
                    "lastReload", config.lastOutcome() == null ? "none" : config.lastOutcome().wire()));
            ApiServer.json(ctx, reasons.isEmpty() ? 200 : 503, body);
        });
        router.get("/metrics").handler(ctx -> ctx.response()
                .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                .end(metrics.get()));
        router.route("/v1/*").handler(this::readOnlyAndReady);
        view(router, "/v1/clusters", ctx -> ClustersView.of(state));
        view(router, "/v1/pools", ctx -> PoolsView.of(state));
        view(router, "/v1/events", ctx -> EventsView.of(state, ApiServer.query(ctx)));
        router.errorHandler(404, ctx -> ApiServer.error(ctx, new ApiException(404, "not_found",
                "no such endpoint: " + ctx.request().path() + (ctx.request().path().startsWith("/v1/")
                        ? " (this port serves only GET " + String.join(", ", READ_ONLY_VIEWS) + ")" : ""), null)));
        return router;
    }

    private void view(Router router, String path, Function<RoutingContext, Object> body) {
        router.get(path).handler(ctx -> {
            try {
                ApiServer.json(ctx, 200, body.apply(ctx));
            } catch (ApiException e) {
                ApiServer.error(ctx, e);
            }
        });
    }

    private void readOnlyAndReady(RoutingContext ctx) {
        if (ctx.request().method() != HttpMethod.GET) {
            ctx.response().putHeader("Allow", "GET");
            ApiServer.error(ctx, new ApiException(405, "method_not_allowed", ctx.request().method() + " " + ctx.request().path()
                    + ": the management port is read-only; create, terminate and tag on the node-provider API (api.listen) with its token",
                    null));
        } else if (!state.ready()) {
            ctx.response().putHeader("Retry-After", "1");
            ApiServer.error(ctx, ApiException.notReady("not ready: " + String.join("; ", state.notReadyReasons())));
        } else {
            ctx.next();
        }
    }
}
