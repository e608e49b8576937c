package dev.rayfederation.sidecar.api;

import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.decisions.Decision;
import dev.rayfederation.sidecar.decisions.DecisionLog;
import dev.rayfederation.sidecar.federation.FederationState;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code GET /v1/events}: the placement decisions, newest first, filtered by {@code pool}, {@code member} and
 * {@code kind}, at most {@code limit} (default {@value #DEFAULT_LIMIT}). An unknown pool, member, kind or parameter,
 * a repeated parameter or a bad limit answers 400 naming it.
 */
final class EventsView {

    static final int DEFAULT_LIMIT = 100;

    private EventsView() {
    }

    static Map<String, Object> of(FederationState state, Map<String, List<String>> query) {
        FederationConfig config = state.config();
        String pool = null;
        String member = null;
        Decision.Kind kind = null;
        int limit = DEFAULT_LIMIT;
        for (Map.Entry<String, List<String>> p : query.entrySet()) {
            String name = p.getKey();
            if (p.getValue().size() != 1) {
                throw ApiException.invalid(name, "query parameter '" + name + "' given " + p.getValue().size() + " times; give it once");
            }
            String value = p.getValue().get(0);
            switch (name) {
                case "pool" -> {
                    if (config.pools().stream().noneMatch(x -> x.name().equals(value))) {
                        throw ApiException.invalid(name, "pool: no pool named '" + value + "' (pools: "
                                + config.pools().stream().map(FederationConfig.Pool::name).collect(Collectors.joining(", ")) + ")");
                    }
                    pool = value;
                }
                case "member" -> {
                    if (config.cluster(value).isEmpty()) {
                        throw ApiException.invalid(name, "member: no member cluster named '" + value + "' (members: "
                                + config.clusters().stream().map(FederationConfig.Cluster::name).collect(Collectors.joining(", ")) + ")");
                    }
                    member = value;
                }
                case "kind" -> {
                    kind = Decision.Kind.ofWire(value);
                    if (kind == null) {
                        throw ApiException.invalid(name, "kind: '" + value + "' is not one of "
                                + Stream.of(Decision.Kind.values()).map(Decision.Kind::wire).collect(Collectors.joining(", ")));
                    }
                }
                case "limit" -> limit = limit(value);
                default -> throw ApiException.invalid(name, "unknown query parameter '" + name
                        + "'; filter with pool=, member=, kind=, limit=");
            }
        }
        List<Object> events = new ArrayList<>();
        for (Decision d : state.decisions(pool, member, kind, limit)) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("time", d.time().toString());
            e.put("kind", d.kind().wire());
            e.put("pool", d.pool());
            e.put("nodeType", d.nodeType());
            e.put("from", d.from());
            e.put("to", d.to());
            e.put("nodeIds", d.nodeIds());
            e.put("count", d.count());
            e.put("reason", d.reason());
            events.add(e);
        }
        return Map.of("events", events);
    }

    private static int limit(String value) {
        int limit;
        try {
            limit = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw ApiException.invalid("limit", "limit: expected a whole number, got '" + value + "'");
        }
        if (limit < 1 || limit > DecisionLog.DEFAULT_CAPACITY) {
            throw ApiException.invalid("limit", "limit: must be between 1 and " + DecisionLog.DEFAULT_CAPACITY + ", got " + limit);
        }
        return limit;
    }
}
