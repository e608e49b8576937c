package dev.rayfederation.sidecar.api;

import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.federation.FederationState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The management listener: {@code /healthz} (the process serves), {@code /readyz} (config loaded and every
 * member synced or marked unreachable; 503 with reasons otherwise) and {@code /metrics}.
 */
public final class ManagementServer {

    private final Vertx vertx;
    private final FederationConfig.HostPort listen;
    private final FederationState state;
    private final Supplier<String> metrics;
    private volatile boolean shuttingDown;

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

    public Future<HttpServer> listen() {
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
            ApiServer.json(ctx, reasons.isEmpty() ? 200 : 503, body);
        });
        router.get("/metrics").handler(ctx -> ctx.response()
                .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                .end(metrics.get()));
        router.errorHandler(404, ctx -> ApiServer.error(ctx, new ApiException(404, "not_found",
                "no such endpoint: " + ctx.request().path(), null)));
        return vertx.createHttpServer(ApiServer.listenerOptions()).requestHandler(router)
                .listen(listen.port(), listen.host().replace("[", "").replace("]", ""));
    }
}
