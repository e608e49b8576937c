package dev.rayfederation.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One simulated member Kubernetes cluster: where it is, the namespace workers go to, and its Nodes.
 *
 * @param name      member name, also the kubeconfig context name
 * @param cloud     cloud (circuit-breaker group in the sidecar)
 * @param region    region; nodes get the {@code topology.kubernetes.io/region} label
 * @param zone      zone (may be null); nodes get the {@code topology.kubernetes.io/zone} label
 * @param namespace namespace created at start (the sidecar's default is "ray-workers")
 * @param nodes     the Nodes seeded at start
 */
public record MemberSpec(String name, String cloud, String region, String zone, String namespace, List<NodeSpec> nodes) {

    public static final String DEFAULT_NAMESPACE = "ray-workers";

    public MemberSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(cloud, "cloud");
        namespace = namespace == null ? DEFAULT_NAMESPACE : namespace;
        nodes = List.copyOf(nodes);
    }

    public static MemberSpec of(String name, String cloud, String region, String zone) {
        return new MemberSpec(name, cloud, region, zone, DEFAULT_NAMESPACE, List.of());
    }

    /** Adds {@code count} identical nodes named {@code <member>-<prefix>-<i>} built by {@code shape(name)}. */
    public MemberSpec withNodes(int count, String prefix, java.util.function.Function<String, NodeSpec> shape) {
        List<NodeSpec> all = new ArrayList<>(nodes);
        for (int i = 0; i < count; i++) {
            all.add(shape.apply(name + "-" + prefix + "-" + i));
        }
        return new MemberSpec(name, cloud, region, zone, namespace, all);
    }

    public MemberSpec withNode(NodeSpec node) {
        List<NodeSpec> all = new ArrayList<>(nodes);
        all.add(node);
        return new MemberSpec(name, cloud, region, zone, namespace, all);
    }
}
