package dev.rayfederation.sidecar.sync;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;
import dev.rayfederation.sidecar.json.Json;
import dev.rayfederation.sidecar.placement.Cordons;
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
import java.util.Optional;
import java.util.TreeMap;

/**
 * A small durable record of what only the sidecar knows while a member is unreachable: the last known
 * nodes of every member and the terminations Ray asked for that are not done yet; and the members an operator
 * cordoned, which no member can tell. Written atomically
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

    /** One cordon as stored. */
    public record StoredCordon(String by, String reason, String since) {
    }

    /** The file's content; {@code cordons} is absent from files written before cordons existed. */
    public record State(int version, String savedAt, List<StoredNode> nodes, Map<String, StoredCordon> cordons) {
    }

    public void save(List<NodeRecord> nodes) throws IOException {
        save(nodes, Map.of());
    }

    public void save(List<NodeRecord> nodes, Map<String, Cordons.Cordon> cordons) throws IOException {
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
                    .writeValueAsBytes(new State(VERSION, Instant.now().toString(), stored, storedCordons(cordons))));
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static Map<String, StoredCordon> storedCordons(Map<String, Cordons.Cordon> cordons) {
        Map<String, StoredCordon> out = new TreeMap<>();
        cordons.forEach((m, c) -> out.put(m, new StoredCordon(c.by(), c.reason(), c.since().toString())));
        return out;
    }

    /** The stored nodes, or none when there is no file (or it cannot be read: then the members are the truth). */
    public List<StoredNode> load() {
        return read().map(s -> {
            LOG.info("state file {}: {} node(s) saved at {}", file, s.nodes() == null ? 0 : s.nodes().size(), s.savedAt());
            return s.nodes() == null ? List.<StoredNode>of() : s.nodes();
        }).orElse(List.of());
    }

    /** The members cordoned when the file was written, or none. */
    public Map<String, Cordons.Cordon> loadCordons() {
        Map<String, Cordons.Cordon> out = new TreeMap<>();
        read().map(State::cordons).ifPresent(kept -> kept.forEach((m, c) ->
                out.put(m, new Cordons.Cordon(c.by(), c.reason(), Instant.parse(c.since())))));
        return out;
    }

    private Optional<State> read() {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            State s = Json.MAPPER.readValue(file.toFile(), new TypeReference<State>() { });
            if (s.version() != VERSION) {
                LOG.warn("ignoring state file {}: version {} (expected {})", file, s.version(), VERSION);
                return Optional.empty();
            }
            return Optional.of(s);
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring unreadable state file {}: {}", file, e.getMessage());
            return Optional.empty();
        }
    }
}
