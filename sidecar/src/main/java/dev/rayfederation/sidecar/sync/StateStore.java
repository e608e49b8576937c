package dev.rayfederation.sidecar.sync;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;
import dev.rayfederation.sidecar.json.Json;
import dev.rayfederation.sidecar.registry.NodeRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A small durable record of what only the sidecar knows while a member is unreachable: the last known
 * nodes of every member and the terminations Ray asked for that are not done yet. Written atomically
 * (temp file + rename) at most once a second when the registry changed; read once at start-up.
 *
 * <p>Everything else is rebuilt from the members' pods, so the file is an optimisation for outages, never
 * the source of truth: a member that answers at start-up is believed over the file.
 */
public final class StateStore {

    private static final Logger LOG = LoggerFactory.getLogger(StateStore.class);
    static final int VERSION = 1;

    private final Path file;

    public StateStore(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /** One node as stored. */
    public record StoredNode(String id, String nodeType, String pool, String virtualCluster, String member,
                             String podName, Map<String, String> tags, String status, String internalIp,
                             String phase, boolean bound, String requestId, String requestHash, int requestCount,
                             Map<String, Long> resources, String created) {

        static StoredNode of(NodeRecord n) {
            return new StoredNode(n.id(), n.nodeType(), n.pool(), n.virtualCluster(), n.member(), n.podName(), n.tags(),
                    n.status(), n.internalIp(), n.phase().name(), n.bound(), n.requestId(), n.requestHash(),
                    n.requestCount(), n.resources().milli(), n.created().toString());
        }

        NodeRecord toRecord(WorkerShape shape) {
            return NodeRecord.builder().id(id).nodeType(nodeType).pool(pool).virtualCluster(virtualCluster)
                    .member(member).podName(podName).tags(tags).status(status).internalIp(internalIp)
                    .phase(NodeRecord.Phase.valueOf(phase)).bound(bound).requestId(requestId).requestHash(requestHash)
                    .requestCount(requestCount).resources(new ResourceVector(resources)).shape(shape)
                    .created(Instant.parse(created)).reason("last known state, from the sidecar's state file").build();
        }
    }

    /** The file's content. */
    public record State(int version, String savedAt, List<StoredNode> nodes) {
    }

    public void save(List<NodeRecord> nodes) throws IOException {
        List<StoredNode> stored = new ArrayList<>(nodes.size());
        for (NodeRecord n : nodes) {
            if (n.phase() != NodeRecord.Phase.CREATING) {
                stored.add(StoredNode.of(n));
            }
        }
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".state-", ".tmp");
        try {
            Files.write(tmp, Json.MAPPER.writerWithDefaultPrettyPrinter()
                    .writeValueAsBytes(new State(VERSION, Instant.now().toString(), stored)));
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The stored nodes, or none when there is no file (or it cannot be read: then the members are the truth). */
    public List<StoredNode> load() {
        if (!Files.exists(file)) {
            return List.of();
        }
        try {
            State s = Json.MAPPER.readValue(file.toFile(), new TypeReference<State>() { });
            if (s.version() != VERSION) {
                LOG.warn("ignoring state file {}: version {} (expected {})", file, s.version(), VERSION);
                return List.of();
            }
            LOG.info("state file {}: {} node(s) saved at {}", file, s.nodes().size(), s.savedAt());
            return s.nodes() == null ? List.of() : s.nodes();
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring unreadable state file {}: {}", file, e.getMessage());
            return List.of();
        }
    }
}
