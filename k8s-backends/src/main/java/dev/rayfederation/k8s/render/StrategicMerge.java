package dev.rayfederation.k8s.render;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strategic-merge patch over plain JSON-like maps (as parsed from YAML), close to what
 * {@code kubectl patch --type strategic} does for pod templates:
 * <ul>
 *   <li>maps merge recursively; a {@code null} value deletes the key;</li>
 *   <li>lists whose items are all maps with a {@code name} (containers, volumes, env, ports, ...) merge item
 *       by item on that name: a patch item updates the base item with the same name, or is appended;
 *       an item {@code {name: x, $patch: delete}} removes x;</li>
 *   <li>any other list (including an empty one), and any scalar, replaces the base value.</li>
 * </ul>
 * Inputs are never modified; the result shares no mutable structure with them.
 */
public final class StrategicMerge {

    /** The directive key of a list item that deletes the base item with the same name. */
    public static final String PATCH_DIRECTIVE = "$patch";

    private StrategicMerge() {
    }

    /** {@code base} with {@code patch} applied; either may be null (treated as empty). */
    public static Map<String, Object> apply(Map<String, Object> base, Map<String, Object> patch) {
        Map<String, Object> result = copyMap(base);
        if (patch == null) {
            return result;
        }
        for (Map.Entry<String, Object> e : patch.entrySet()) {
            String key = e.getKey();
            Object p = e.getValue();
            Object b = result.get(key);
            if (p == null) {
                result.remove(key);
            } else if (p instanceof Map<?, ?> pm && b instanceof Map<?, ?> bm) {
                result.put(key, apply(asStringMap(bm), asStringMap(pm)));
            } else if (p instanceof List<?> pl && b instanceof List<?> bl && namedItems(pl) && namedItems(bl)) {
                result.put(key, mergeByName(bl, pl));
            } else {
                result.put(key, copyWithoutNulls(p));
            }
        }
        return result;
    }

    /** A deep copy of a JSON-like value (maps keep their order; nulls inside maps are dropped). */
    public static Object copyWithoutNulls(Object value) {
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> copy = new LinkedHashMap<>();
            m.forEach((k, v) -> {
                if (v != null) {
                    copy.put(String.valueOf(k), copyWithoutNulls(v));
                }
            });
            return copy;
        }
        if (value instanceof List<?> l) {
            List<Object> copy = new ArrayList<>(l.size());
            for (Object o : l) {
                copy.add(copyWithoutNulls(o));
            }
            return copy;
        }
        return value;
    }

    private static List<Object> mergeByName(List<?> base, List<?> patch) {
        List<Object> result = new ArrayList<>(base.size() + patch.size());
        for (Object o : base) {
            result.add(copyWithoutNulls(o));
        }
        for (Object o : patch) {
            Map<String, Object> item = asStringMap((Map<?, ?>) o);
            Object name = item.get("name");
            int at = indexOfName(result, name);
            boolean delete = "delete".equals(item.get(PATCH_DIRECTIVE));
            if (delete) {
                if (at >= 0) {
                    result.remove(at);
                }
                continue;
            }
            Map<String, Object> clean = new LinkedHashMap<>(item);
            clean.remove(PATCH_DIRECTIVE);
            if (at >= 0) {
                result.set(at, apply(asStringMap((Map<?, ?>) result.get(at)), clean));
            } else {
                result.add(copyWithoutNulls(clean));
            }
        }
        return result;
    }

    private static int indexOfName(List<Object> items, Object name) {
        for (int i = 0; i < items.size(); i++) {
            if (items.get(i) instanceof Map<?, ?> m && name != null && name.equals(m.get("name"))) {
                return i;
            }
        }
        return -1;
    }

    private static boolean namedItems(List<?> list) {
        if (list.isEmpty()) {
            return false;
        }
        for (Object o : list) {
            if (!(o instanceof Map<?, ?> m) || !(m.get("name") instanceof String)) {
                return false;
            }
        }
        return true;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> copyMap(Map<String, Object> m) {
        return m == null ? new LinkedHashMap<>() : (Map<String, Object>) copyWithoutNulls(m);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asStringMap(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }
}
