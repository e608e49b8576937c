package dev.rayfederation.sim;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Named sets of simulated members. */
public final class Topologies {

    public static final String GPU_LABEL = "cloud.google.com/gke-accelerator";
    public static final String GPU_TAINT = "nvidia.com/gpu";
    public static final String INSTANCE_TYPE = "node.kubernetes.io/instance-type";

    private Topologies() {
    }

    /**
     * Three members on three clouds with node sizes that differ on purpose:
     * <ul>
     *   <li>aws-use1: 4 × 16 CPU / 64Gi</li>
     *   <li>gcp-usc1: 2 × 8 CPU / 32Gi, plus 2 GPU nodes × 4 nvidia L4 / 48 CPU / 192Gi, labelled
     *       {@code cloud.google.com/gke-accelerator=nvidia-l4} and tainted {@code nvidia.com/gpu=present:NoSchedule}</li>
     *   <li>azure-eus: 2 × 8 CPU / 32Gi</li>
     * </ul>
     */
    public static List<MemberSpec> demo() {
        MemberSpec aws = MemberSpec.of("aws-use1", "aws", "us-east-1", "us-east-1a")
                .withNodes(4, "m6i", n -> NodeSpec.of(n, 16, "64Gi").withLabel(INSTANCE_TYPE, "m6i.4xlarge"));
        MemberSpec gcp = MemberSpec.of("gcp-usc1", "gcp", "us-central1", "us-central1-a")
                .withNodes(2, "e2", n -> NodeSpec.of(n, 8, "32Gi").withLabel(INSTANCE_TYPE, "e2-standard-8"))
                .withNodes(2, "g2", n -> NodeSpec.of(n, 48, "192Gi").withGpus(4)
                        .withLabel(INSTANCE_TYPE, "g2-standard-48")
                        .withLabel(GPU_LABEL, "nvidia-l4")
                        .withTaint(GPU_TAINT, "present", "NoSchedule"));
        MemberSpec azure = MemberSpec.of("azure-eus", "azure", "eastus", "eastus-1")
                .withNodes(2, "d8s", n -> NodeSpec.of(n, 8, "32Gi").withLabel(INSTANCE_TYPE, "Standard_D8s_v5"));
        return List.of(aws, gcp, azure);
    }

    /** Two members on two clouds, each 2 × 16 CPU / 64Gi: the smallest topology where spill-over shows. */
    public static List<MemberSpec> pair() {
        return List.of(
                MemberSpec.of("m1", "aws", "us-east-1", "us-east-1a").withNodes(2, "n", n -> NodeSpec.of(n, 16, "64Gi")),
                MemberSpec.of("m2", "gcp", "us-central1", "us-central1-a").withNodes(2, "n", n -> NodeSpec.of(n, 16, "64Gi")));
    }

    /** One member with 2 × 16 CPU / 64Gi. */
    public static List<MemberSpec> single() {
        return List.of(pair().get(0));
    }

    /**
     * A topology by name ({@code demo}, {@code pair}, {@code single}) or the path of a JSON file holding a list
     * of {@link MemberSpec}.
     */
    public static List<MemberSpec> byName(String name) throws IOException {
        switch (name) {
            case "demo":
                return demo();
            case "pair":
                return pair();
            case "single":
                return single();
            default:
                Path file = Path.of(name);
                if (Files.isRegularFile(file)) {
                    return new ObjectMapper().readValue(file.toFile(), new TypeReference<List<MemberSpec>>() { });
                }
                throw new IllegalArgumentException("--topology: unknown topology '" + name
                        + "' (known: demo, pair, single, or the path of a JSON file listing members)");
        }
    }
}
