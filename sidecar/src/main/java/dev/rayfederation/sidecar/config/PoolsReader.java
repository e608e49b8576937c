package dev.rayfederation.sidecar.config;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.rayfederation.k8s.resources.Quantities;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.render.WorkerPodRenderer;
import dev.rayfederation.k8s.render.RayNodeResources;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.placement.strategy.PlacementStrategy;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Reads {@code pools}: one Ray node type each, owned by a virtual cluster, allowed on some members.
 * Checks every reference (virtual cluster, members, override keys) against what the file declares.
 */
final class PoolsReader {

    static final int DEFAULT_MAX_WORKERS = 100;
    /** The largest resource amount Ray accepts on a node. */
    private static final BigDecimal MAX_RAY_QUANTITY = BigDecimal.valueOf(RayNodeResources.MAX_QUANTITY);

    private static final List<String> KEYS = List.of("name", "virtualCluster", "rayNodeType", "resources",
            "rayResources", "labels", "minWorkers", "maxWorkers", "strategy", "clusters", "template", "overrides");
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {
    };

    private final Map<String, Cluster> clustersByName = new LinkedHashMap<>();
    private final Map<String, VirtualCluster> virtualClustersByName = new LinkedHashMap<>();
    private final Set<String> gpuResourceNames;
    private final Map<String, String> pathByName = new HashMap<>();
    private final Map<String, String> pathByNodeType = new HashMap<>();

    PoolsReader(List<Cluster> clusters, List<VirtualCluster> virtualClusters) {
        clusters.stream().filter(c -> c.name() != null).forEach(c -> clustersByName.putIfAbsent(c.name(), c));
        virtualClusters.stream().filter(v -> v.name() != null).forEach(v -> virtualClustersByName.putIfAbsent(v.name(), v));
        gpuResourceNames = clusters.stream().map(Cluster::gpuResourceName).filter(Objects::nonNull)
                .collect(Collectors.toCollection(LinkedHashSet::new));
    }

    List<Pool> read(ConfigNode pools) {
        if (!pools.isPresent()) {
            pools.problem("is required: list at least one pool (one Ray worker node type each)");
            return List.of();
        }
        List<ConfigNode> items = pools.items();
        if (items.isEmpty() && pools.json().isArray()) {
            pools.problem("must list at least one pool");
        }
        List<Pool> result = new ArrayList<>();
        for (ConfigNode item : items) {
            if (item.expectMap()) {
                result.add(pool(item));
            }
        }
        return result;
    }

    private Pool pool(ConfigNode item) {
        item.rejectUnknownKeys(KEYS);
        ConfigNode nameField = item.field("name");
        Optional<String> name = nameField.requiredString();
        boolean nameUnique = false;
        if (name.isPresent()) {
            Checks.valid(nameField, Names.checkObjectName(name.get()));
            nameUnique = Checks.unique(nameField, name.get(), pathByName);
        }
        VirtualCluster vc = virtualCluster(item.field("virtualCluster"));
        String rayNodeType = rayNodeType(item.field("rayNodeType"), name.orElse(null), nameUnique);
        ResourceVector resources = resources(item.field("resources"), vc);
        Map<String, Double> rayResources = rayResources(item.field("rayResources"));
        Map<String, String> labels = labels(item.field("labels"));
        ConfigNode minField = item.field("minWorkers");
        int minWorkers = minField.integer().filter(n -> atLeast(minField, n, 0)).orElse(0);
        int maxWorkers = maxWorkers(item.field("maxWorkers"), minWorkers);
        PlacementStrategy strategy = strategy(item.field("strategy"));
        List<String> members = members(item.field("clusters"));
        if (strategy == Strategies.CHEAPEST) {
            checkSomeMemberHasPrices(item.field("strategy"), members);
        }
        int before = item.problemCount();
        Map<String, Object> template = template(item.field("template"));
        boolean templateValid = item.problemCount() == before;
        Map<String, Map<String, Object>> overrides = overrides(item.field("overrides"), members, template, templateValid);
        return new Pool(name.orElse(null), vc == null ? item.field("virtualCluster").json().asText() : vc.name(),
                rayNodeType, resources, rayResources, labels, minWorkers, maxWorkers, strategy, members, template,
                overrides);
    }

    private VirtualCluster virtualCluster(ConfigNode field) {
        Optional<String> name = field.requiredString();
        if (name.isEmpty()) {
            return null;
        }
        VirtualCluster vc = virtualClustersByName.get(name.get());
        if (vc == null) {
            field.problem("'" + name.get() + "' is not declared in virtualClusters ("
                    + (virtualClustersByName.isEmpty()
                    ? "none declared: add it there, with a quota if it needs one"
                    : "declared: " + String.join(", ", virtualClustersByName.keySet())) + ")");
        }
        return vc;
    }

    /**
     * The Ray node type, by default the pool's name. A defaulted type that clashes is only reported when
     * the pool's name was unique: a duplicate pool name has been reported already.
     */
    private String rayNodeType(ConfigNode field, String poolName, boolean nameUnique) {
        Optional<String> type = field.string();
        if (type.isEmpty()) {
            if (poolName != null && !field.isPresent() && nameUnique) {
                Checks.unique(field, poolName, pathByNodeType);
            }
            return poolName;
        }
        if (Checks.valid(field, Names.checkNodeType(type.get()))) {
            Checks.unique(field, type.get(), pathByNodeType);
        }
        return type.get();
    }

    private ResourceVector resources(ConfigNode field, VirtualCluster vc) {
        if (!field.require()) {
            return ResourceVector.EMPTY;
        }
        int before = field.problemCount();
        ResourceVector resources = ResourceValues.read(field, ResourceValues.Use.WORKER);
        for (String key : resources.milli().keySet()) {
            if (gpuResourceNames.contains(key)) {
                field.field(key).problem("write GPU instead: each member maps Ray's GPU to its gpuResourceName ("
                        + key + ")");
            }
        }
        boolean clean = field.problemCount() == before && field.json().isObject();
        if (clean && resources.get("CPU") == 0 && resources.get("GPU") == 0 && resources.get("memory") == 0) {
            field.problem("must ask for some CPU, GPU or memory (a worker that asks for nothing fits anywhere, "
                    + "without limit)");
        }
        if (vc != null) {
            vc.quota().milli().forEach((resource, limit) -> {
                long need = resources.get(resource);
                if (need > limit) {
                    field.field(resource).problem(Quantities.fromMilli(need) + " per worker cannot fit virtual cluster '"
                            + vc.name() + "' quota of " + Quantities.fromMilli(limit) + " even once");
                }
            });
        }
        return resources;
    }

    private static Map<String, Double> rayResources(ConfigNode field) {
        Map<String, Double> result = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigNode> e : field.entries()) {
            String key = e.getKey();
            ConfigNode value = e.getValue();
            if (key.isBlank()) {
                value.problem("resource names must not be empty");
                continue;
            }
            Optional<String> builtIn = ResourceValues.RAY_RESOURCES.stream().filter(r -> r.equalsIgnoreCase(key)).findFirst();
            if (builtIn.isPresent()) {
                value.problem("set " + builtIn.get() + " in resources, not rayResources (rayResources holds custom Ray "
                        + "resources only)");
                continue;
            }
            if (key.equals("object_store_memory")) {
                value.problem("is not a custom resource: Ray sizes the object store itself");
                continue;
            }
            if (key.startsWith("node:")) {
                value.problem("resource names starting with node: are reserved (Ray gives every node a node:<ip> resource)");
                continue;
            }
            Optional<BigDecimal> amount = value.number();
            if (amount.isPresent()) {
                if (amount.get().signum() <= 0) {
                    value.problem("must be > 0");
                } else if (amount.get().stripTrailingZeros().scale() > 0) {
                    value.problem("must be a whole number (got " + amount.get().toPlainString() + "): a Ray node refuses "
                            + "fractional resources and the autoscaler plans with whole ones; tasks may still ask for "
                            + "a fraction of one");
                } else if (amount.get().compareTo(MAX_RAY_QUANTITY) > 0) {
                    value.problem("must be at most " + MAX_RAY_QUANTITY.toPlainString() + " (Ray's limit)");
                } else {
                    result.put(key, amount.get().doubleValue());
                }
            }
        }
        return Collections.unmodifiableMap(result);
    }

    private static Map<String, String> labels(ConfigNode field) {
        Map<String, String> result = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigNode> e : field.entries()) {
            ConfigNode value = e.getValue();
            if (e.getKey().isEmpty()) {
                value.problem("label keys must not be empty");
                continue;
            }
            if (!Checks.valid(value, Names.checkLabelKey(e.getKey()))) {
                continue;
            }
            Optional<String> text = value.isPresent() ? value.scalarText() : Optional.of("");
            text.filter(t -> Checks.valid(value, Names.checkLabelValue(t))).ifPresent(t -> result.put(e.getKey(), t));
        }
        return Collections.unmodifiableMap(result);
    }

    private static int maxWorkers(ConfigNode field, int minWorkers) {
        Optional<Integer> given = field.integer();
        int max = given.orElse(DEFAULT_MAX_WORKERS);
        if (given.isPresent() && max < 1) {
            field.problem("must be >= 1");
        } else if (max < minWorkers) {
            field.problem("must be >= minWorkers (" + minWorkers + ")"
                    + (given.isEmpty() ? "; it defaults to " + DEFAULT_MAX_WORKERS : ""));
        }
        return max;
    }

    private static boolean atLeast(ConfigNode field, int value, int min) {
        if (value < min) {
            field.problem("must be >= " + min);
            return false;
        }
        return true;
    }

    private static PlacementStrategy strategy(ConfigNode field) {
        Optional<String> text = field.string();
        if (text.isEmpty()) {
            return Strategies.DEFAULT;
        }
        Optional<PlacementStrategy> strategy = Strategies.byName(text.get());
        if (strategy.isEmpty()) {
            field.problem("must be one of " + String.join(", ", Strategies.names()) + " (got '" + text.get() + "')");
        }
        return strategy.orElse(Strategies.DEFAULT);
    }

    /** The allowed members: as listed (each must be declared, once), or every member in config order. */
    private List<String> members(ConfigNode field) {
        if (!field.isPresent()) {
            return List.copyOf(clustersByName.keySet());
        }
        List<ConfigNode> items = field.items();
        if (field.json().isArray() && items.isEmpty()) {
            field.problem("must name at least one member (omit the key to allow every member)");
        }
        Set<String> members = new LinkedHashSet<>();
        for (ConfigNode item : items) {
            Optional<String> name = item.isPresent() ? item.string() : Optional.empty();
            if (!item.isPresent()) {
                item.problem("must be a member name, not null");
            }
            if (name.isEmpty()) {
                continue;
            }
            if (!clustersByName.containsKey(name.get())) {
                item.problem("no member cluster named '" + name.get() + "' (members: "
                        + String.join(", ", clustersByName.keySet()) + ")");
            } else if (!members.add(name.get())) {
                item.problem("'" + name.get() + "' is listed twice");
            }
        }
        return List.copyOf(members);
    }

    private void checkSomeMemberHasPrices(ConfigNode strategyField, List<String> members) {
        boolean priced = members.stream().map(clustersByName::get).filter(Objects::nonNull)
                .anyMatch(c -> c.price() != null && !c.price().isEmpty());
        if (!priced && !members.isEmpty()) {
            strategyField.problem("cheapest needs a price on at least one of this pool's members (none of "
                    + String.join(", ", members) + " has one)");
        }
    }

    private static Map<String, Object> template(ConfigNode field) {
        if (!field.isPresent() || !field.isMap()) {
            return Map.of();
        }
        Map<String, Object> template = plain(field);
        check(field, () -> WorkerPodRenderer.validateTemplate(template, field.path()));
        return template;
    }

    /**
     * Each override is checked merged over the template, as the renderer will apply it (a patch alone
     * need not be a complete pod template). When the template itself has problems they are reported once,
     * under template, and the overrides are not checked.
     */
    private Map<String, Map<String, Object>> overrides(ConfigNode field, List<String> members,
                                                      Map<String, Object> template, boolean templateValid) {
        Map<String, Map<String, Object>> result = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigNode> e : field.entries()) {
            String member = e.getKey();
            ConfigNode patch = e.getValue();
            if (!clustersByName.containsKey(member)) {
                patch.problem("no member cluster named '" + member + "' (members: "
                        + String.join(", ", clustersByName.keySet()) + ")");
            } else if (!members.contains(member)) {
                patch.problem("'" + member + "' is not one of this pool's members (" + String.join(", ", members) + ")");
            } else if (patch.expectMap()) {
                Map<String, Object> override = plain(patch);
                if (templateValid) {
                    check(patch, () -> WorkerPodRenderer.validateMerged(template, override, patch.path()));
                }
                result.put(member, override);
            }
        }
        return Collections.unmodifiableMap(result);
    }

    /** The free-form map at {@code field} as plain Java values (maps, lists, strings, numbers, booleans). */
    private static Map<String, Object> plain(ConfigNode field) {
        return Collections.unmodifiableMap(JSON.convertValue(field.json(), MAP));
    }

    /** Adds the pod validator's problems; a validator failure is itself reported, never thrown. */
    private static void check(ConfigNode field, Supplier<List<String>> validator) {
        try {
            field.addFormattedProblems(validator.get());
        } catch (RuntimeException e) {
            field.problem("could not be checked: " + e);
        }
    }
}
