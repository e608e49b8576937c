package dev.rayfederation.sidecar.config;

import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * What a live reload may change, and what it changes. Members may come and go; their priority and price, virtual
 * clusters and their quotas, and pools (limits, strategy, members, template, overrides) may change. What was built
 * once at start-up may not: the Ray cluster's name and head address (stamped on running workers), the listeners and
 * the token file, the members' timing and resilience settings, the replacement check's schedule and back-off, how an
 * existing member is reached and what it holds, and the ant-ray integration's set of virtual clusters.
 */
public final class LiveChanges {

    private LiveChanges() {
    }

    /** Members, virtual clusters and pools added, removed or changed, for the log. */
    public record Summary(List<String> addedMembers, List<String> removedMembers, List<String> changes) {
        public boolean isEmpty() {
            return addedMembers.isEmpty() && removedMembers.isEmpty() && changes.isEmpty();
        }

        @Override
        public String toString() {
            List<String> parts = new ArrayList<>();
            if (!addedMembers.isEmpty()) {
                parts.add("members added " + addedMembers);
            }
            if (!removedMembers.isEmpty()) {
                parts.add("members removed " + removedMembers);
            }
            parts.addAll(changes);
            return parts.isEmpty() ? "no change" : String.join("; ", parts);
        }
    }

    /** Every change from {@code old} to {@code next} that cannot be applied without a restart, by field path of {@code next}. */
    public static List<String> refusals(FederationConfig old, FederationConfig next) {
        List<String> out = new ArrayList<>();
        String restart = "cannot change live (restart the sidecar to apply it)";
        fixed(out, "rayCluster.name", old.rayCluster().name(), next.rayCluster().name(),
                "cannot change live: running workers carry the old one (restart the sidecar to apply it)");
        fixed(out, "rayCluster.headAddress", old.rayCluster().headAddress(), next.rayCluster().headAddress(),
                "cannot change live: running workers dial the old one (restart the sidecar to apply it)");
        fixed(out, "api.listen", old.api().listen(), next.api().listen(), restart);
        fixed(out, "api.tokenFile", old.api().tokenFile(), next.api().tokenFile(), restart);
        fixed(out, "management.listen", old.management().listen(), next.management().listen(), restart);
        fixed(out, "timing.memberStartTimeout", old.timing().memberStartTimeout(), next.timing().memberStartTimeout(), restart);
        fixed(out, "timing.memberRetryInterval", old.timing().memberRetryInterval(), next.timing().memberRetryInterval(), restart);
        fixed(out, "resilience", old.resilience(), next.resilience(),
                "cannot change live: every member's breakers, bulkhead and rate limit were built with the old settings "
                        + "(restart the sidecar to apply it)");
        fixed(out, "replacement.checkInterval", old.replacement().checkInterval(), next.replacement().checkInterval(), restart);
        fixed(out, "replacement.backoffInitial", old.replacement().backoffInitial(), next.replacement().backoffInitial(), restart);
        fixed(out, "replacement.backoffMax", old.replacement().backoffMax(), next.replacement().backoffMax(), restart);
        fixed(out, "antRay", old.antRay(), next.antRay(), restart);
        for (int i = 0; i < next.clusters().size(); i++) {
            Cluster n = next.clusters().get(i);
            String at = "clusters[" + i + "]";
            old.cluster(n.name()).ifPresent(o -> memberRefusals(out, at, o, n));
        }
        if (old.antRay().enabled()) {
            antRayRefusals(out, old, next);
        }
        return out;
    }

    private static void memberRefusals(List<String> out, String at, Cluster o, Cluster n) {
        String why = "cannot change live for member " + n.name() + ": it is connected with the old value (remove the "
                + "member and add it under another name, or restart the sidecar)";
        fixed(out, at + ".cloud", o.cloud(), n.cloud(), why);
        fixed(out, at + ".region", o.region(), n.region(), why);
        fixed(out, at + ".zone", o.zone(), n.zone(), why);
        fixed(out, at + ".kubeconfig", o.kubeconfig(), n.kubeconfig(), why);
        fixed(out, at + ".context", o.context(), n.context(), why);
        fixed(out, at + ".namespace", o.namespace(), n.namespace(), why);
        fixed(out, at + ".elastic", o.elastic(), n.elastic(), why);
        fixed(out, at + ".capacity", o.capacity(), n.capacity(), why);
        fixed(out, at + ".staticCapacity", o.staticCapacity(), n.staticCapacity(), why);
        fixed(out, at + ".gpuResourceName", o.gpuResourceName(), n.gpuResourceName(), why);
    }

    /** ant-ray's virtual clusters are kept in step with the virtual clusters and pools known at start-up. */
    private static void antRayRefusals(List<String> out, FederationConfig old, FederationConfig next) {
        String why = "cannot change live while antRay is enabled: ant-ray's virtual clusters are kept in step with "
                + "those known at start-up (restart the sidecar to apply it)";
        Function<VirtualCluster, String> vcKey = v -> v.name() + "=" + v.antRay();
        Function<Pool, String> poolKey = p -> p.name() + "/" + p.virtualCluster() + "/" + p.rayNodeType();
        if (!keys(old.virtualClusters(), vcKey).equals(keys(next.virtualClusters(), vcKey))) {
            out.add("virtualClusters: the set of virtual clusters or their antRay ids " + why);
        }
        if (!keys(old.pools(), poolKey).equals(keys(next.pools(), poolKey))) {
            out.add("pools: the set of pools, their virtual clusters or node types " + why);
        }
    }

    private static <T> Set<String> keys(List<T> items, Function<T, String> key) {
        Set<String> out = new LinkedHashSet<>();
        items.forEach(i -> out.add(key.apply(i)));
        return out;
    }

    private static void fixed(List<String> out, String path, Object old, Object next, String why) {
        if (!Objects.equals(old, next)) {
            out.add(path + ": " + why + "; in force: " + old + ", in the file: " + next);
        }
    }

    /** What {@code next} changes from {@code old} (assumed to have no {@link #refusals}). */
    public static Summary summary(FederationConfig old, FederationConfig next) {
        List<String> added = names(next.clusters(), Cluster::name);
        added.removeAll(names(old.clusters(), Cluster::name));
        List<String> removed = names(old.clusters(), Cluster::name);
        removed.removeAll(names(next.clusters(), Cluster::name));
        List<String> changes = new ArrayList<>();
        for (Cluster n : next.clusters()) {
            old.cluster(n.name()).filter(o -> !o.equals(n)).ifPresent(o -> changes.add("member " + n.name() + " changed"));
        }
        changed(changes, "virtual cluster", old.virtualClusters(), next.virtualClusters(), VirtualCluster::name);
        changed(changes, "pool", old.pools(), next.pools(), Pool::name);
        if (!old.timing().equals(next.timing()) || !old.replacement().equals(next.replacement())) {
            changes.add("timing or replacement changed");
        }
        if (!old.preflight().equals(next.preflight())) {
            changes.add("preflight changed");
        }
        return new Summary(added, removed, changes);
    }

    private static <T> void changed(List<String> out, String kind, List<T> old, List<T> next, Function<T, String> name) {
        for (T n : next) {
            T o = old.stream().filter(x -> name.apply(x).equals(name.apply(n))).findFirst().orElse(null);
            if (o == null) {
                out.add(kind + " " + name.apply(n) + " added");
            } else if (!o.equals(n)) {
                out.add(kind + " " + name.apply(n) + " changed");
            }
        }
        for (T o : old) {
            if (next.stream().noneMatch(x -> name.apply(x).equals(name.apply(o)))) {
                out.add(kind + " " + name.apply(o) + " removed");
            }
        }
    }

    private static <T> List<String> names(List<T> items, Function<T, String> name) {
        return new ArrayList<>(items.stream().map(name).toList());
    }
}
