package dev.rayfederation.sidecar.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Every problem found in one config file, each as "field.path: what is wrong". {@link #inDocumentOrder}
 * sorts them by where their field sits in the file, so that cross-checks made late (a pool naming an
 * undeclared virtual cluster) still appear next to the line at fault.
 */
final class Problems {

    private record Problem(String path, String message) {
        String text() {
            return path.isEmpty() ? message : path + ": " + message;
        }
    }

    private final List<Problem> problems = new ArrayList<>();

    void add(String path, String message) {
        problems.add(new Problem(path, message));
    }

    /** Adds problems already formatted as "path: message" (as other modules' validators return them). */
    void addFormatted(List<String> formatted) {
        for (String text : formatted) {
            int colon = text.indexOf(": ");
            if (colon < 0) {
                problems.add(new Problem("", text));
            } else {
                problems.add(new Problem(text.substring(0, colon), text.substring(colon + 2)));
            }
        }
    }

    int count() {
        return problems.size();
    }

    boolean isEmpty() {
        return problems.isEmpty();
    }

    /**
     * The problems sorted by the position of their field in {@code root} (stable: problems of one field
     * keep the order they were found in). A problem about a missing field sorts right after its parent's
     * last existing child, where the field would be written.
     */
    List<String> inDocumentOrder(JsonNode root) {
        Map<String, int[]> positions = new HashMap<>();
        if (root != null) {
            index(root, "", positions, new int[] {0});
        }
        List<Problem> sorted = new ArrayList<>(problems);
        sorted.sort(Comparator.comparingLong(p -> position(p.path(), positions)));
        return sorted.stream().map(Problem::text).toList();
    }

    private static void index(JsonNode node, String path, Map<String, int[]> positions, int[] counter) {
        int start = counter[0]++;
        if (node.isObject()) {
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                index(field.getValue(), ConfigNode.childPath(path, field.getKey()), positions, counter);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                index(node.get(i), path + "[" + i + "]", positions, counter);
            }
        }
        positions.putIfAbsent(path, new int[] {start, counter[0] - 1});
    }

    private static long position(String path, Map<String, int[]> positions) {
        String p = path;
        boolean exact = true;
        while (true) {
            int[] pos = positions.get(p);
            if (pos != null) {
                return exact ? 2L * pos[0] : 2L * pos[1] + 1;
            }
            if (p.isEmpty()) {
                return Long.MAX_VALUE;
            }
            int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
            p = cut < 0 ? "" : p.substring(0, cut);
            exact = false;
        }
    }
}
