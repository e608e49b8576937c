package dev.rayfederation.sidecar.registry;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;
import dev.rayfederation.sidecar.registry.NodeRecord.Phase;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The registry answers placement's questions from running sums and indexes; after any sequence of changes, every
 * answer must be what a full recount of the records gives (the recounts below are how the registry used to answer).
 */
@DisplayName("The registry's running sums equal a full recount after random sequences of changes")
class NodeRegistrySumsTest {

    private static final List<String> POOLS = List.of("cpu", "gpu", "big");
    private static final List<String> VIRTUAL_CLUSTERS = List.of("vc-a", "vc-b");
    private static final List<String> MEMBERS = List.of("m0", "m1", "m2");
    private static final List<String> REQUESTS = List.of("req-0", "req-1", "req-2", "req-3");
    private static final List<WorkerShape> SHAPES = List.of(
            WorkerShape.of(ResourceVector.ofQuantities(Map.of("CPU", "4", "memory", "16Gi"))),
            WorkerShape.of(ResourceVector.ofQuantities(Map.of("CPU", "8", "GPU", "1"))));
    private static final List<ResourceVector> RESOURCES = List.of(
            ResourceVector.ofQuantities(Map.of("CPU", "4", "memory", "16Gi")),
            ResourceVector.ofQuantities(Map.of("CPU", "500m")),
            ResourceVector.EMPTY);

    /** Counted as the default member does (its bound pods)... */
    private static final Predicate<NodeRecord> BOUND = NodeRecord::bound;
    /**
     * ...and as a capacity watch that may disagree with our view of binding (a function of the pod, so stable); an
     * unbound record is kept room for whatever it says.
     */
    private static final Predicate<NodeRecord> LEDGER = r -> r.bound() != (Math.floorMod(r.podName().hashCode(), 5) == 0);

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 42, 1234, 99_991, 7_777_777, 2026})
    void sumsEqualARecount(long seed) {
        // a member asks its reservations always the same way, so each way gets a registry of its own
        for (Predicate<NodeRecord> counted : List.of(BOUND, LEDGER)) {
            Random random = new Random(seed);
            NodeRegistry registry = new NodeRegistry();
            for (int step = 0; step < 3_000; step++) {
                change(registry, random);
                if (step % 7 == 0 || step > 2_950) {
                    assertMatchesRecount(registry, counted, "seed " + seed + ", step " + step);
                }
            }
        }
    }

    private static void change(NodeRegistry registry, Random random) {
        String id = "rf-" + random.nextInt(300);
        switch (random.nextInt(7)) {
            case 0, 1 -> registry.put(record(id, random));
            case 2 -> {
                List<NodeRecord> batch = new ArrayList<>();
                for (int i = random.nextInt(12); i > 0; i--) {
                    batch.add(record("rf-" + random.nextInt(300), random));
                }
                registry.putAll(batch);
            }
            case 3 -> registry.update(id, r -> switch (random.nextInt(6)) {
                case 0 -> r.withPhase(Phase.TERMINATING);
                case 1 -> r.withObserved(NodeStatus.STARTING, "10.0.0.1", random.nextBoolean(), null);
                case 2 -> r.movedTo(pick(MEMBERS, random), "pod-" + random.nextInt(1_000), pick(SHAPES, random),
                        Instant.EPOCH, "moved");
                case 3 -> r.withTags(Map.of("k", Integer.toString(random.nextInt(3))));
                case 4 -> r;
                default -> null;
            });
            case 4 -> registry.remove(id);
            default -> registry.get(id).ifPresentOrElse(
                    r -> registry.forget(id, random.nextInt(4) == 0 ? pick(MEMBERS, random) : r.member(), r.podName()),
                    () -> registry.forget(id, pick(MEMBERS, random), "none"));
        }
    }

    private static NodeRecord record(String id, Random random) {
        return NodeRecord.builder().id(id).nodeType("t").pool(pick(POOLS, random))
                .virtualCluster(pick(VIRTUAL_CLUSTERS, random)).member(pick(MEMBERS, random))
                .podName("pod-" + random.nextInt(1_000)).tags(Map.of()).status(NodeStatus.CREATING)
                .phase(pick(List.of(Phase.values()), random)).bound(random.nextBoolean())
                .requestId(random.nextInt(5) == 0 ? null : pick(REQUESTS, random)).requestHash("h").requestCount(5)
                .resources(pick(RESOURCES, random)).shape(random.nextInt(4) == 0 ? null : pick(SHAPES, random))
                .created(Instant.EPOCH).build();
    }

    private static <T> T pick(List<T> from, Random random) {
        return from.get(random.nextInt(from.size()));
    }

    private static void assertMatchesRecount(NodeRegistry registry, Predicate<NodeRecord> counted, String where) {
        List<NodeRecord> all = registry.all();
        for (String pool : POOLS) {
            assertThat(registry.countPool(pool)).as(where + ": countPool " + pool)
                    .isEqualTo(all.stream().filter(r -> r.live() && r.pool().equals(pool)).count());
            Map<String, Integer> byMember = new HashMap<>();
            all.stream().filter(r -> r.live() && r.pool().equals(pool)).forEach(r -> byMember.merge(r.member(), 1, Integer::sum));
            assertThat(registry.countPoolByMember(pool)).as(where + ": countPoolByMember " + pool).isEqualTo(byMember);
        }
        for (String vc : VIRTUAL_CLUSTERS) {
            ResourceVector used = ResourceVector.EMPTY;
            for (NodeRecord r : all) {
                if (r.live() && r.virtualCluster().equals(vc)) {
                    used = used.plus(r.resources());
                }
            }
            assertThat(registry.usage(vc)).as(where + ": usage " + vc).isEqualTo(used);
        }
        for (String member : MEMBERS) {
            ResourceVector requests = ResourceVector.EMPTY;
            for (NodeRecord r : all) {
                if (r.member().equals(member) && r.shape() != null) {
                    requests = requests.plus(r.shape().requests());
                }
            }
            assertThat(registry.memberUsage(member)).as(where + ": memberUsage " + member).isEqualTo(requests);
            Map<WorkerShape, Integer> reserved = new HashMap<>();
            all.stream().filter(r -> r.member().equals(member) && r.shape() != null && (!r.bound() || !counted.test(r)))
                    .forEach(r -> reserved.merge(r.shape(), 1, Integer::sum));
            assertThat(registry.reservations(member, counted)).as(where + ": reservations " + member)
                    .isEqualTo(reserved);
        }
        for (String request : REQUESTS) {
            assertThat(registry.byRequestId(request)).as(where + ": byRequestId " + request)
                    .containsExactlyElementsOf(all.stream().filter(r -> request.equals(r.requestId())).toList());
        }
    }
}
