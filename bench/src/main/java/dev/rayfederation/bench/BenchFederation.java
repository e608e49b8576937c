package dev.rayfederation.bench;

import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.ConfigLoader;
import dev.rayfederation.sidecar.config.FederationConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The federation the micro-benchmarks place onto: {@code members} members on different clouds, each with
 * {@code nodesPerMember} nodes of 32 CPU / 128Gi / 110 pods (every 4th half used), and one pool {@code cpu} of
 * 4 CPU / 16Gi workers, strategy spread, no quota, maxWorkers 1,000,000 (room for a request on top of 100,000 placed). The config is loaded from YAML by the sidecar's
 * own loader (kubeconfig files are placeholders: nothing connects).
 */
final class BenchFederation {

    final FederationConfig config;
    final Map<String, MemberCluster> members = new LinkedHashMap<>();

    BenchFederation(int memberCount, int nodesPerMember) {
        try {
            Path dir = Files.createTempDirectory("rf-bench-config");
            dir.toFile().deleteOnExit();
            StringBuilder yaml = new StringBuilder("rayCluster: {name: bench, headAddress: 10.0.0.12:6379}\nclusters:\n");
            ResourceVector node = ResourceVector.ofQuantities(Map.of("CPU", "32", "memory", "128Gi", "pods", "110"));
            for (int i = 0; i < memberCount; i++) {
                String name = "m" + i;
                Path kubeconfig = dir.resolve(name + ".kubeconfig");
                Files.writeString(kubeconfig, "apiVersion: v1\nkind: Config\n");
                kubeconfig.toFile().deleteOnExit();
                yaml.append("  - {name: ").append(name).append(", cloud: cloud").append(i).append(", kubeconfig: ")
                        .append(kubeconfig).append("}\n");
                InMemoryMemberCluster member = InMemoryMemberCluster.builder(name, "cloud" + i, nodesPerMember, node)
                        .halfUsedEvery(4).podsStayPending().renderPods().keepNoPods().build();
                member.start();
                members.put(name, member);
            }
            yaml.append("virtualClusters: [{name: vc}]\n")
                    .append("pools:\n  - {name: cpu, virtualCluster: vc, rayNodeType: cpu, resources: {CPU: 4, memory: 16Gi},")
                    .append(" maxWorkers: 1000000, strategy: spread}\n");
            Path file = dir.resolve("bench.yaml");
            Files.writeString(file, yaml);
            file.toFile().deleteOnExit();
            config = ConfigLoader.load(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (dev.rayfederation.sidecar.config.ConfigException e) {
            throw new IllegalStateException("the benchmark's config is invalid: " + e.problems(), e);
        }
    }
}
