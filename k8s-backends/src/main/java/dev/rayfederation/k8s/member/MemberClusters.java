package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resilience.BreakerRegistry;

import java.util.Objects;

/** Creates {@link MemberCluster}s. */
public final class MemberClusters {

    private MemberClusters() {
    }

    /**
     * A member backed by fabric8, not started yet: call {@link MemberCluster#start()}. Does not touch the network
     * or the kubeconfig file (a missing or broken kubeconfig makes the start fail with a reason). Its circuit
     * breakers are its own: it shares its cloud's breaker with no other member.
     *
     * @throws IllegalArgumentException when a required field of {@code spec} is missing
     */
    public static MemberCluster connect(MemberClusterSpec spec, MemberClusterOptions options) {
        return connect(spec, options, new BreakerRegistry());
    }

    /**
     * As {@link #connect(MemberClusterSpec, MemberClusterOptions)}, with the circuit breakers from {@code breakers}:
     * connect every member with the same registry so that members of one cloud share the cloud's breaker.
     */
    public static MemberCluster connect(MemberClusterSpec spec, MemberClusterOptions options, BreakerRegistry breakers) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(options, "options");
        if (spec.name() == null || spec.name().isBlank()) {
            throw new IllegalArgumentException("MemberClusterSpec.name: is required");
        }
        if (spec.namespace() == null || spec.namespace().isBlank()) {
            throw new IllegalArgumentException("MemberClusterSpec.namespace: is required (member " + spec.name() + ")");
        }
        Objects.requireNonNull(breakers, "breakers");
        return new Fabric8MemberCluster(spec, options, breakers);
    }
}
