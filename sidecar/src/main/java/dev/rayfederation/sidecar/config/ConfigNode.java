package dev.rayfederation.sidecar.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One place in the config tree together with its field path ("pools[1].resources.GPU"). Every read
 * reports a wrong type or a missing value to the shared {@link Problems} and returns empty, so that the
 * caller can go on and find the next problem instead of stopping at the first.
 */
final class ConfigNode {

    private final JsonNode node;
    private final String path;
    private final Problems problems;

    private ConfigNode(JsonNode node, String path, Problems problems) {
        this.node = node == null ? MissingNode.getInstance() : node;
        this.path = path;
        this.problems = problems;
    }

    static ConfigNode root(JsonNode node, Problems problems) {
        return new ConfigNode(node, "", problems);
    }

    /** "a" + "b" → "a.b"; a top-level key has no leading dot. */
    static String childPath(String parent, String key) {
        return parent.isEmpty() ? key : parent + "." + key;
    }

    String path() {
        return path;
    }

    JsonNode json() {
        return node;
    }

    /** The field {@code key} of this map (absent when this is not a map or has no such key). */
    ConfigNode field(String key) {
        return new ConfigNode(node.isObject() ? node.get(key) : null, childPath(path, key), problems);
    }

    /** False for an absent key and for an explicit null ({@code key:} with nothing after it). */
    boolean isPresent() {
        return !node.isMissingNode() && !node.isNull();
    }

    void problem(String message) {
        problems.add(path, message);
    }

    /** Adds problems formatted elsewhere as "path: message" (for example by the pod-template validator). */
    void addFormattedProblems(List<String> formatted) {
        problems.addFormatted(formatted);
    }

    /** Reports "is required" when absent; true when present. */
    boolean require() {
        if (!isPresent()) {
            problem("is required");
            return false;
        }
        return true;
    }

    /** True when this is a map; reports "must be a map, not ..." otherwise, also when absent or null. */
    boolean expectMap() {
        if (node.isObject()) {
            return true;
        }
        problem("must be a map, not " + describeType());
        return false;
    }

    /** How many problems the whole file has so far (to tell whether a sub-read found any). */
    int problemCount() {
        return problems.count();
    }

    /** True when this is a map; reports "must be a map" when it is present but something else. */
    boolean isMap() {
        if (node.isObject()) {
            return true;
        }
        if (isPresent()) {
            problem("must be a map, not " + describeType());
        }
        return false;
    }

    /** The entries of this map in file order; empty when absent or not a map (the latter reported). */
    List<Map.Entry<String, ConfigNode>> entries() {
        List<Map.Entry<String, ConfigNode>> entries = new ArrayList<>();
        if (isMap()) {
            node.properties().forEach(e -> entries.add(Map.entry(e.getKey(), field(e.getKey()))));
        }
        return entries;
    }

    /** The items of this list; empty when absent or not a list (the latter reported). */
    List<ConfigNode> items() {
        List<ConfigNode> items = new ArrayList<>();
        if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                items.add(new ConfigNode(node.get(i), path + "[" + i + "]", problems));
            }
        } else if (isPresent()) {
            problem("must be a list, not " + describeType());
        }
        return items;
    }

    /** Reports every key of this map that is not in {@code allowed}: "pools[0].frobnicate: unknown key (...)". */
    void rejectUnknownKeys(Collection<String> allowed) {
        if (!node.isObject()) {
            return;
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!allowed.contains(e.getKey())) {
                field(e.getKey()).problem("unknown key (" + suggestion(e.getKey(), allowed) + ")");
            }
        }
    }

    Optional<String> string() {
        if (!isPresent()) {
            return Optional.empty();
        }
        if (!node.isTextual()) {
            problem("must be a string, not " + describeType());
            return Optional.empty();
        }
        return Optional.of(node.textValue());
    }

    Optional<String> requiredString() {
        return require() ? string() : Optional.empty();
    }

    /** A string, number or boolean as text (label values such as {@code generation: 4}). */
    Optional<String> scalarText() {
        if (!isPresent()) {
            return Optional.empty();
        }
        if (!node.isValueNode()) {
            problem("must be a string, not " + describeType());
            return Optional.empty();
        }
        return Optional.of(node.asText());
    }

    Optional<Integer> integer() {
        if (!isPresent()) {
            return Optional.empty();
        }
        if (!node.isIntegralNumber()) {
            problem("must be a whole number, not " + describeType());
            return Optional.empty();
        }
        if (!node.canConvertToInt()) {
            problem("is too large");
            return Optional.empty();
        }
        return Optional.of(node.intValue());
    }

    Optional<Boolean> bool() {
        if (!isPresent()) {
            return Optional.empty();
        }
        if (!node.isBoolean()) {
            problem("must be true or false, not " + describeType());
            return Optional.empty();
        }
        return Optional.of(node.booleanValue());
    }

    /** A finite number; never a string (use {@link ResourceValues} where quantities are allowed). */
    Optional<BigDecimal> number() {
        if (!isPresent()) {
            return Optional.empty();
        }
        if (!node.isNumber()) {
            problem("must be a number, not " + describeType());
            return Optional.empty();
        }
        if (node.isDouble() && !Double.isFinite(node.doubleValue())) {
            problem("must be a finite number");
            return Optional.empty();
        }
        return Optional.of(node.decimalValue());
    }

    /** How the value reads to a person: "a string ('abc')", "a list", "a number (3)". */
    String describeType() {
        if (node.isObject()) {
            return "a map";
        }
        if (node.isArray()) {
            return "a list";
        }
        if (node.isTextual()) {
            return "a string ('" + abbreviate(node.textValue()) + "')";
        }
        if (node.isBoolean()) {
            return "a boolean (" + node.booleanValue() + ")";
        }
        if (node.isNumber()) {
            return "a number (" + node.asText() + ")";
        }
        return "null";
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }

    /** "did you mean maxWorkers?" for a near miss, else the list of keys allowed here. */
    static String suggestion(String given, Collection<String> allowed) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : allowed) {
            int d = editDistance(given.toLowerCase(Locale.ROOT), candidate.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        if (best != null && bestDistance <= Math.max(1, Math.min(2, given.length() / 4))) {
            return "did you mean " + best + "?";
        }
        return "expected one of: " + String.join(", ", allowed);
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
