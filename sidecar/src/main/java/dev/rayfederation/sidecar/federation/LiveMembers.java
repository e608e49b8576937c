package dev.rayfederation.sidecar.federation;

import dev.rayfederation.k8s.member.MemberCluster;

import java.util.AbstractMap;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The members the sidecar is connected to, by name, as one read-only map every component shares: a live reload
 * adds members to it and forgets removed ones once their last worker is gone. Copy on write, so readers never
 * lock and always see a whole set.
 */
final class LiveMembers extends AbstractMap<String, MemberCluster> {

    private volatile Map<String, MemberCluster> current;

    LiveMembers(Map<String, MemberCluster> initial) {
        current = Collections.unmodifiableMap(new LinkedHashMap<>(initial));
    }

    @Override
    public Set<Entry<String, MemberCluster>> entrySet() {
        return current.entrySet();
    }

    @Override
    public MemberCluster get(Object name) {
        return current.get(name);
    }

    @Override
    public boolean containsKey(Object name) {
        return current.containsKey(name);
    }

    synchronized void add(MemberCluster member) {
        Map<String, MemberCluster> next = new LinkedHashMap<>(current);
        next.put(member.name(), member);
        current = Collections.unmodifiableMap(next);
    }

    synchronized void remove(String name) {
        Map<String, MemberCluster> next = new LinkedHashMap<>(current);
        next.remove(name);
        current = Collections.unmodifiableMap(next);
    }
}
