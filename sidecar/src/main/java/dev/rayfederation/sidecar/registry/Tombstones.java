package dev.rayfederation.sidecar.registry;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Ids of nodes terminated (or seen deleted) recently, so that late informer events cannot bring them back and
 * terminating one again is a harmless no-op. Bounded: the oldest ids are forgotten first.
 */
public final class Tombstones {

    private final Map<String, Boolean> ids;

    public Tombstones(int max) {
        this.ids = Collections.synchronizedMap(new LinkedHashMap<>(1024, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                return size() > max;
            }
        });
    }

    public void add(String id) {
        ids.put(id, Boolean.TRUE);
    }

    public boolean contains(String id) {
        return ids.containsKey(id);
    }
}
