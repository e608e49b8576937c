package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * N {@link SimulatedMember}s plus one {@link SimulatedKubelet} over all of them, with kubeconfigs written into a
 * directory. {@link #close()} stops everything.
 */
public final class SimulatedMembers implements AutoCloseable {

    /** One line of members.json: how to reach a member. */
    public record Endpoint(String name, String cloud, String region, String zone, String namespace,
                           String kubeconfig, String context, String url) {
    }

    private final Map<String, SimulatedMember> members = new LinkedHashMap<>();
    private final Path dir;
    private SimulatedKubelet kubelet;

    private SimulatedMembers(Path dir) {
        this.dir = dir;
    }

    /** Starts the members (kubeconfigs in {@code dir}) and the kubelet with default options. */
    public static SimulatedMembers start(List<MemberSpec> specs, Path dir) {
        return start(specs, dir, SimulatedKubelet.Options.defaults());
    }

    public static SimulatedMembers start(List<MemberSpec> specs, Path dir, SimulatedKubelet.Options options) {
        if (specs.isEmpty()) {
            throw new IllegalArgumentException("specs: at least one member is needed");
        }
        SimulatedMembers all = new SimulatedMembers(dir);
        try {
            int index = 0;
            for (MemberSpec spec : specs) {
                if (all.members.containsKey(spec.name())) {
                    throw new IllegalArgumentException("specs: member name '" + spec.name() + "' appears twice");
                }
                SimulatedMember m = SimulatedMember.start(spec, index++);
                all.members.put(spec.name(), m);
                m.writeKubeconfig(dir);
            }
            all.kubelet = SimulatedKubelet.start(List.copyOf(all.members.values()), options);
        } catch (RuntimeException e) {
            all.close();
            throw e;
        }
        return all;
    }

    public List<SimulatedMember> members() {
        return List.copyOf(members.values());
    }

    public SimulatedMember member(String name) {
        SimulatedMember m = members.get(name);
        if (m == null) {
            throw new IllegalArgumentException("member: unknown '" + name + "' (known: " + members.keySet() + ")");
        }
        return m;
    }

    public SimulatedKubelet kubelet() {
        return kubelet;
    }

    public Path dir() {
        return dir;
    }

    public List<Endpoint> endpoints() {
        List<Endpoint> out = new ArrayList<>();
        for (SimulatedMember m : members.values()) {
            MemberSpec s = m.spec();
            out.add(new Endpoint(s.name(), s.cloud(), s.region(), s.zone(), s.namespace(),
                    m.kubeconfig().toAbsolutePath().toString(), m.context(), m.url()));
        }
        return out;
    }

    /** Writes {@code <dir>/members.json}: a JSON list of {@link Endpoint}s. */
    public Path writeManifest() {
        Path file = dir.resolve("members.json");
        try {
            Files.createDirectories(dir);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), endpoints());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
        return file;
    }

    /** Worker pods (managed by ray-federation) across all members. */
    public int workerPodCount() {
        return members.values().stream().mapToInt(m -> m.workerPods().size()).sum();
    }

    @Override
    public void close() {
        if (kubelet != null) {
            kubelet.close();
        }
        members.values().forEach(SimulatedMember::close);
    }
}
