package dev.rayfederation.k8s;

import dev.rayfederation.k8s.member.Fabric8MemberCluster;

import java.util.Objects;

/** Creates {@link MemberCluster}s. */
public final class MemberClusters {

    private MemberClusters() {
    }

    /**
     * A member backed by fabric8, not started yet: call {@link MemberCluster#start()}. Does not touch the
     * network or the kubeconfig file (a missing or broken kubeconfig makes the start fail with a reason).
     *
     * @throws IllegalArgumentException when a required field of {@code spec} is missing
     */
    public static MemberCluster connect(MemberClusterSpec spec, MemberClusterOptions options) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(options, "options");
        if (spec.name() == null || spec.name().isBlank()) {
            throw new IllegalArgumentException("MemberClusterSpec.name: is required");
        }
        if (spec.namespace() == null || spec.namespace().isBlank()) {
            throw new IllegalArgumentException("MemberClusterSpec.namespace: is required (member " + spec.name() + ")");
        }
        return new Fabric8MemberCluster(spec, options);
    }
}
