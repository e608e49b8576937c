package dev.rayfederation.sidecar.config;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig.CapacityMode;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Reads {@code clusters}: the member Kubernetes clusters. */
final class ClustersReader {

    static final String DEFAULT_NAMESPACE = "ray-workers";
    static final String DEFAULT_GPU_RESOURCE = "nvidia.com/gpu";

    private static final List<String> KEYS = List.of("name", "cloud", "region", "zone", "kubeconfig", "context",
            "namespace", "priority", "price", "elastic", "capacity", "staticCapacity", "gpuResourceName");

    private final ConfigFiles files;
    private final Map<String, String> pathByName = new HashMap<>();

    ClustersReader(ConfigFiles files) {
        this.files = files;
    }

    /**
     * The members in config order. A member with problems is still returned (its name as written, other
     * fields possibly null) so that pools naming it are not reported a second time.
     */
    List<Cluster> read(ConfigNode clusters) {
        if (!clusters.isPresent()) {
            clusters.problem("is required: list at least one member Kubernetes cluster");
            return List.of();
        }
        List<ConfigNode> items = clusters.items();
        if (items.isEmpty() && clusters.json().isArray()) {
            clusters.problem("must list at least one member Kubernetes cluster");
        }
        List<Cluster> result = new ArrayList<>();
        for (ConfigNode item : items) {
            if (item.expectMap()) {
                result.add(cluster(item));
            }
        }
        return result;
    }

    private Cluster cluster(ConfigNode item) {
        item.rejectUnknownKeys(KEYS);
        String name = name(item.field("name"));
        String cloud = item.field("cloud").string()
                .filter(c -> Checks.valid(item.field("cloud"), Names.checkCloud(c)))
                .orElse(name);
        String region = nonBlank(item.field("region"));
        String zone = nonBlank(item.field("zone"));
        Path kubeconfig = files.readableFile(item.field("kubeconfig")).orElse(null);
        String context = nonBlank(item.field("context"));
        String namespace = item.field("namespace").string()
                .filter(n -> Checks.valid(item.field("namespace"), Names.checkDnsLabel(n, 63)))
                .orElse(DEFAULT_NAMESPACE);
        int priority = item.field("priority").integer().orElse(0);
        Map<String, Double> price = ResourceValues.prices(item.field("price"));
        boolean elastic = item.field("elastic").bool().orElse(false);
        CapacityMode capacity = capacityMode(item.field("capacity"));
        ConfigNode staticField = item.field("staticCapacity");
        ResourceVector staticCapacity = ResourceValues.read(staticField, ResourceValues.Use.CAPACITY);
        if (capacity == CapacityMode.STATIC) {
            if (!staticField.isPresent()) {
                staticField.problem("is required when capacity is static (it is then the member's whole capacity)");
            } else if (staticField.json().isObject() && staticCapacity.isEmpty()) {
                staticField.problem("must give at least one resource > 0 when capacity is static");
            }
        }
        String gpuResourceName = item.field("gpuResourceName").string()
                .filter(g -> Checks.valid(item.field("gpuResourceName"), Names.checkExtendedResourceName(g)))
                .orElse(DEFAULT_GPU_RESOURCE);
        return new Cluster(name, cloud, region, zone, kubeconfig, context, namespace, priority, price, elastic,
                capacity, staticCapacity, gpuResourceName);
    }

    /** The name as written (even if malformed, so references to it resolve); null when missing. */
    private String name(ConfigNode field) {
        Optional<String> name = field.requiredString();
        name.ifPresent(n -> {
            Checks.valid(field, Names.checkObjectName(n));
            Checks.unique(field, n, pathByName);
        });
        return name.orElse(null);
    }

    private static CapacityMode capacityMode(ConfigNode field) {
        Optional<String> text = field.string();
        if (text.isEmpty() || text.get().equals("auto")) {
            return CapacityMode.AUTO;
        }
        if (text.get().equals("static")) {
            return CapacityMode.STATIC;
        }
        field.problem("must be auto or static (got '" + text.get() + "')");
        return CapacityMode.AUTO;
    }

    private static String nonBlank(ConfigNode field) {
        Optional<String> text = field.string();
        if (text.isPresent() && text.get().isBlank()) {
            field.problem("must not be empty (omit the key instead)");
            return null;
        }
        return text.orElse(null);
    }
}
