package dev.rayfederation.bench;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.federation.Federation;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.CapacityBackoff;
import dev.rayfederation.sidecar.placement.Placement;
import dev.rayfederation.sidecar.placement.WorkerShapes;
import dev.rayfederation.sidecar.provision.CreateOutcome;
import dev.rayfederation.sidecar.provision.CreateRequest;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Placement of one request for {@code workers} workers over {@code members} members (target: 1,000 over 5 in
 * at most 50 ms), with no workers yet and with 10,000 and 100,000 already running.
 * <ul>
 *   <li>{@link #decide}: the decision alone, as the provisioner takes it: per member, what our workers there use
 *       and which are not bound yet (registry scans), how many more fit by the per-node capacity model and the
 *       static cap, then the strategy's split ({@link PlacementPlanner});</li>
 *   <li>{@link #create}: everything the sidecar does in process for {@code POST /v1/nodes} of that many: quota and
 *       pool limits, the decision, minting ids, registering the nodes, rendering each worker pod and recording it
 *       (members answer at once, so no I/O is measured).</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PlacementBench {

    @Param({"1000"})
    public int workers;

    @Param({"5"})
    public int members;

    @Param({"200"})
    public int nodesPerMember;

    /** Workers the registry already holds (Running, spread over the members) when the request comes. */
    @Param({"0", "10000", "100000"})
    public int existingWorkers;

    private BenchFederation federation;
    private FederationConfig.Pool pool;
    private ScheduledExecutorService scheduler;
    private Federation provisioner;
    private Placement placement;
    private NodeRegistry existing;
    private List<NodeRecord> existingRecords;
    private int sequence;

    @Setup(Level.Trial)
    public void federation() {
        federation = new BenchFederation(members, nodesPerMember);
        pool = federation.config.pools().get(0);
        scheduler = Executors.newSingleThreadScheduledExecutor();
        existingRecords = existingRecords();
        existing = registryWithExisting();
        provisioner = new Federation(federation.config, federation.members, existing, scheduler, new FederationMetrics());
        placement = new Placement(federation.config, federation.members, existing,
                new CapacityBackoff(java.time.Duration.ofSeconds(30), java.time.Duration.ofMinutes(10),
                        java.time.Clock.systemUTC()), new WorkerShapes(federation.config));
    }

    @Setup(Level.Invocation)
    public void freshProvisioner() {
        provisioner = new Federation(federation.config, federation.members, registryWithExisting(), scheduler,
                new FederationMetrics());
    }

    /**
     * A registry holding the existing workers, as a running sidecar's does: built from records made once (so that
     * the set-up of each invocation does not flood the measurement with garbage), and with every member's
     * reservations asked once (a running sidecar's placement has seen its bound workers before).
     */
    private NodeRegistry registryWithExisting() {
        NodeRegistry registry = new NodeRegistry();
        registry.putAll(existingRecords);
        federation.members.keySet().forEach(m -> registry.reservations(m, NodeRecord::bound));
        return registry;
    }

    private List<NodeRecord> existingRecords() {
        List<String> names = new ArrayList<>(federation.members.keySet());
        List<NodeRecord> records = new ArrayList<>(existingWorkers);
        ResourceVector resources = pool.resources();
        for (int i = 0; i < existingWorkers; i++) {
            String member = names.get(i % names.size());
            String id = String.format("rf-%09d%08d", i, i);
            records.add(NodeRecord.builder().id(id).nodeType("cpu").pool(pool.name())
                    .virtualCluster(pool.virtualCluster()).member(member).podName("bench-" + id)
                    .tags(Map.of("ray-node-type", "worker", "ray-user-node-type", "cpu")).status("up-to-date")
                    .internalIp("10.0.0.1").phase(NodeRecord.Phase.POD).bound(true).requestId("old-" + (i / 5))
                    .requestHash("hash").requestCount(5).resources(resources).shape(WorkerShape.of(pool.resources()))
                    .created(Instant.EPOCH).build());
        }
        return records;
    }

    @TearDown(Level.Trial)
    public void stop() {
        scheduler.shutdownNow();
    }

    @Benchmark
    public Map<String, Integer> decide() {
        synchronized (placement.lock()) {
            return placement.decide(pool, workers).plan();
        }
    }

    @Benchmark
    public CreateOutcome create() {
        CreateRequest request = new CreateRequest("cpu", workers, "bench-" + sequence++,
                Map.of("ray-node-type", "worker", "ray-user-node-type", "cpu"), Map.of(), Map.of(), Map.of(),
                "hash-" + sequence);
        CreateOutcome outcome = provisioner.create(request).toCompletableFuture().join();
        if (outcome.created().size() != workers) {
            throw new IllegalStateException("created " + outcome.created().size() + " of " + workers + ": "
                    + outcome.rejected());
        }
        return outcome;
    }
}
