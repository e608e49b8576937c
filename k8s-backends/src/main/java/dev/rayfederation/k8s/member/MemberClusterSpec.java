package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resources.ResourceVector;

import java.nio.file.Path;

/**
 * How to reach one member cluster and what it may hold.
 *
 * @param name           unique member name ([a-z0-9-])
 * @param cloud          circuit-breaker group
 * @param region         may be null
 * @param zone           may be null
 * @param kubeconfig     kubeconfig file; null means in-cluster credentials
 * @param context        kubeconfig context; null means the file's current context
 * @param namespace      where worker pods are created
 * @param elastic        the member has its own node autoscaler: "full" is not final
 * @param staticOnly     capacity: static (staticCapacity is the whole capacity) rather than auto
 * @param staticCapacity cap (auto) or whole capacity (static); EMPTY means no cap
 */
public record MemberClusterSpec(
        String name,
        String cloud,
        String region,
        String zone,
        Path kubeconfig,
        String context,
        String namespace,
        boolean elastic,
        boolean staticOnly,
        ResourceVector staticCapacity) {
}
