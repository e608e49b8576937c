package dev.rayfederation.bench;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;
import dev.rayfederation.sidecar.api.NodeListing;
import io.vertx.core.buffer.Buffer;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The in-process cost of the node snapshot behind {@code GET /v1/nodes} (target: p99 at most 20 ms with 10,000
 * nodes): rendering the JSON body of a snapshot with no node rendered yet (the first GET), taking a new snapshot
 * after one node changed, and both together with the body of the changed snapshot (what every GET after a change
 * pays: the other nodes' JSON is reused), or with the body of the changes since the previous revision (what a client
 * asking {@code ?since=} pays).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SnapshotRenderBench {

    @Param({"1000", "10000", "100000"})
    public int nodes;

    private NodeRegistry registry;
    private NodeRegistry.Snapshot snapshot;
    private NodeRecord first;
    private int touch;
    private long held;
    private final NodeListing listing = new NodeListing();

    @Setup
    public void registry() {
        registry = new NodeRegistry();
        ResourceVector resources = ResourceVector.ofQuantities(Map.of("CPU", "4", "memory", "16Gi"));
        WorkerShape shape = WorkerShape.of(resources);
        for (int i = 0; i < nodes; i++) {
            String id = String.format("rf-%09d%08d", i, i);
            Map<String, String> tags = new TreeMap<>();
            tags.put("ray-node-type", "worker");
            tags.put("ray-user-node-type", "cpu");
            tags.put("ray-node-status", "up-to-date");
            tags.put("ray-launch-config", "0123456789abcdef0123456789abcdef01234567");
            tags.put("ray-node-name", "ray-bench-worker");
            registry.put(NodeRecord.builder().id(id).nodeType("cpu").pool("cpu").virtualCluster("vc")
                    .member("m" + (i % 3)).podName("bench-" + id).tags(tags).status("up-to-date")
                    .internalIp("10." + (i / 65_000) + "." + (i / 250 % 250) + "." + (i % 250))
                    .phase(NodeRecord.Phase.POD).bound(true).requestId("req-" + (i / 5)).requestHash("hash")
                    .requestCount(5).resources(resources).shape(shape).created(Instant.now()).build());
        }
        snapshot = registry.snapshot();
        first = snapshot.nodes().get(0);
        listing.all(snapshot, "boot-" + snapshot.revision()); // the listing a ?since= client holds
        held = snapshot.revision();
    }

    @Benchmark
    public Buffer render() {
        return new NodeListing().all(snapshot, "boot-" + snapshot.revision());
    }

    @Benchmark
    public Buffer renderAfterChange() {
        NodeRegistry.Snapshot changed = snapshotAfterChange();
        return listing.all(changed, "boot-" + changed.revision());
    }

    @Benchmark
    public Buffer changesAfterChange() {
        long since = held;
        NodeRegistry.Snapshot changed = snapshotAfterChange();
        held = changed.revision();
        return listing.changes(changed, "boot-" + held, since, "boot-" + since).orElseThrow();
    }

    @Benchmark
    public NodeRegistry.Snapshot snapshotAfterChange() {
        Map<String, String> tags = new TreeMap<>(first.tags());
        tags.put("bench-touch", Integer.toString(touch++));
        registry.put(first.withTags(tags));
        return registry.snapshot();
    }
}
