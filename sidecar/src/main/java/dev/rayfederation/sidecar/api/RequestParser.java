package dev.rayfederation.sidecar.api;

import dev.rayfederation.sidecar.json.Json;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.provision.CreateRequest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Validates request bodies of the node-provider API. Every problem is an {@link ApiException} (400) that
 * names the field at fault; nothing is changed before a body is fully valid.
 *
 * <p>Strict JSON: a key given twice in one object is refused (not "last wins"), and so is nesting deeper than
 * {@value #MAX_DEPTH} levels. Tags must fit where they are kept: in one annotation of the worker pod, and a
 * Kubernetes API server refuses a pod whose annotations exceed 256 KiB in total.
 */
public final class RequestParser {

    /** Deepest nesting a request may have (Ray's bodies are 3 levels deep; node_config a few more). */
    static final int MAX_DEPTH = 32;
    /** Most bytes the tags may take as JSON: a pod's annotations may hold 256 KiB, ours need a little besides. */
    static final int MAX_TAGS_JSON_BYTES = 256 * 1024 - 4 * 1024;
    private static final ObjectMapper STRICT = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    private static final Set<String> CREATE_FIELDS =
            Set.of("nodeType", "count", "requestId", "tags", "resources", "labels", "nodeConfig");
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:/+=@-]{1,253}");
    private static final int MAX_IDS = 100_000;

    /** Longest {@code by} and {@code reason} of a cordon. */
    static final int MAX_CORDON_TEXT = 256;

    private final Supplier<FederationConfig> current;

    /** @param current the configuration in force (a live reload replaces it) */
    public RequestParser(Supplier<FederationConfig> current) {
        this.current = current;
    }

    /** A cordon's body: who cordons and why (both optional; who defaults to "unknown"). */
    public record CordonRequest(String by, String reason) {
    }

    /** The body of a cordon: empty, or {@code {"by": "...", "reason": "..."}}. */
    public CordonRequest cordon(String body) {
        if (body == null || body.isBlank()) {
            return new CordonRequest("unknown", null);
        }
        ObjectNode root = object(body);
        onlyFields(root, Set.of("by", "reason"), "");
        String by = cordonText(root, "by");
        return new CordonRequest(by == null ? "unknown" : by, cordonText(root, "reason"));
    }

    private static String cordonText(ObjectNode root, String field) {
        String text = optionalString(root, field);
        if (text != null && (text.isBlank() || text.length() > MAX_CORDON_TEXT)) {
            throw ApiException.invalid(field, field + " must be 1-" + MAX_CORDON_TEXT + " characters (omit it instead)");
        }
        return text;
    }

    public CreateRequest create(String body) {
        FederationConfig config = current.get();
        ObjectNode root = object(body);
        onlyFields(root, CREATE_FIELDS, "");
        String nodeType = requiredString(root, "nodeType");
        Pool pool = config.poolByNodeType(nodeType).orElseThrow(() -> ApiException.invalid("nodeType",
                "unknown nodeType '" + nodeType + "'; known: " + config.pools().stream().map(Pool::rayNodeType).toList()));
        JsonNode countNode = root.get("count");
        if (countNode == null || countNode.isNull()) {
            throw ApiException.invalid("count", "count is required");
        }
        if (!countNode.isIntegralNumber() || !countNode.canConvertToInt()) {
            throw ApiException.invalid("count", "count must be a whole number");
        }
        int count = countNode.intValue();
        if (count < 1) {
            throw ApiException.invalid("count", "count must be >= 1, got " + count);
        }
        if (count > pool.maxWorkers()) {
            throw ApiException.invalid("count", "count " + count + " exceeds maxWorkers " + pool.maxWorkers()
                    + " of pool " + pool.name());
        }
        String requestId = optionalString(root, "requestId");
        if (requestId == null) {
            requestId = UUID.randomUUID().toString();
        } else if (!REQUEST_ID.matcher(requestId).matches()) {
            throw ApiException.invalid("requestId", "requestId must be 1-253 characters of [A-Za-z0-9._:/+=@-]");
        }
        Map<String, String> tags = stringMap(root, "tags");
        checkTagsSize("tags", tags);
        Map<String, Double> resources = numberMap(root, "resources");
        Map<String, String> labels = stringMap(root, "labels");
        checkLabelSizes("labels", labels);
        Map<String, Object> nodeConfig = objectMap(root, "nodeConfig");
        return new CreateRequest(nodeType, count, requestId, tags, resources, labels, nodeConfig, hash(root));
    }

    public List<String> terminate(String body) {
        ObjectNode root = object(body);
        onlyFields(root, Set.of("ids"), "");
        JsonNode ids = root.get("ids");
        if (ids == null || !ids.isArray()) {
            throw ApiException.invalid("ids", "ids must be a list of node ids");
        }
        if (ids.size() > MAX_IDS) {
            throw ApiException.invalid("ids", "at most " + MAX_IDS + " ids per call");
        }
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (int i = 0; i < ids.size(); i++) {
            JsonNode id = ids.get(i);
            if (!id.isTextual() || id.asText().isEmpty()) {
                throw ApiException.invalid("ids[" + i + "]", "ids[" + i + "] must be a non-empty string");
            }
            out.add(id.asText());
        }
        return new ArrayList<>(out);
    }

    public Map<String, String> tags(String body) {
        ObjectNode root = object(body);
        onlyFields(root, Set.of("tags"), "");
        if (root.get("tags") == null) {
            throw ApiException.invalid("tags", "tags is required");
        }
        Map<String, String> tags = stringMap(root, "tags");
        checkTagsSize("tags", tags);
        return tags;
    }

    /**
     * Refuses tags that could not be kept on a pod. Called on the request's tags, and by the caller again on the
     * merged tags of a node ({@link #checkMergedTags}).
     */
    static void checkTagsSize(String field, Map<String, String> tags) {
        int bytes = Json.string(new TreeMap<>(tags)).getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_TAGS_JSON_BYTES) {
            throw ApiException.invalid(field, field + " take " + bytes + " bytes as JSON; at most " + MAX_TAGS_JSON_BYTES
                    + " fit in a pod's annotations (a Kubernetes API server refuses more than 256 KiB in total)");
        }
    }

    /** The tags a node would have after a merge must still fit on its pod. */
    public static void checkMergedTags(Map<String, String> current, Map<String, String> update) {
        Map<String, String> merged = new TreeMap<>(current);
        merged.putAll(update);
        checkTagsSize("tags", merged);
    }

    private static ObjectNode object(String body) {
        if (body == null || body.isBlank()) {
            throw ApiException.invalid(null, "request body is empty; expected a JSON object");
        }
        JsonNode root;
        try {
            root = STRICT.readTree(body);
        } catch (StreamConstraintsException e) {
            throw ApiException.invalid(null, "request body nests deeper than " + MAX_DEPTH + " levels");
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw ApiException.invalid(null, "request body is not valid JSON: " + e.getOriginalMessage()
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
        }
        if (root == null || !root.isObject()) {
            throw ApiException.invalid(null, "request body must be a JSON object");
        }
        return (ObjectNode) root;
    }

    private static void onlyFields(ObjectNode root, Set<String> allowed, String prefix) {
        Iterator<String> names = root.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!allowed.contains(name)) {
                throw ApiException.invalid(prefix + name, "unknown field '" + prefix + name + "'; allowed: "
                        + String.join(", ", new java.util.TreeSet<>(allowed)));
            }
        }
    }

    private static String requiredString(ObjectNode root, String field) {
        String s = optionalString(root, field);
        if (s == null || s.isEmpty()) {
            throw ApiException.invalid(field, field + " is required");
        }
        return s;
    }

    private static String optionalString(ObjectNode root, String field) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw ApiException.invalid(field, field + " must be a string");
        }
        return n.asText();
    }

    /**
     * Ray node labels follow Kubernetes' label syntax: a value of at most 63 characters, a key of at most 63 after an
     * optional prefix of at most 253 and a slash. Longer ones are refused here, before any pod is tried.
     */
    private static void checkLabelSizes(String field, Map<String, String> labels) {
        for (Map.Entry<String, String> e : labels.entrySet()) {
            String key = e.getKey();
            int slash = key.lastIndexOf('/');
            String name = slash < 0 ? key : key.substring(slash + 1);
            if (key.isEmpty() || name.isEmpty() || name.length() > 63 || slash > 253) {
                throw ApiException.invalid(field, field + " key '" + abbreviate(key) + "' must be at most 63 characters "
                        + "after an optional prefix of at most 253 and '/' (a Kubernetes label key), got " + key.length());
            }
            if (e.getValue().length() > 63) {
                throw ApiException.invalid(field + "." + key, field + "." + key + " must be at most 63 characters "
                        + "(a Kubernetes label value), got " + e.getValue().length());
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    private static Map<String, String> stringMap(ObjectNode root, String field) {
        JsonNode n = root.get(field);
        Map<String, String> out = new TreeMap<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isObject()) {
            throw ApiException.invalid(field, field + " must be an object of strings");
        }
        var it = n.fields();
        while (it.hasNext()) {
            var e = it.next();
            if (!e.getValue().isTextual()) {
                throw ApiException.invalid(field + "." + e.getKey(), field + "." + e.getKey() + " must be a string");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    private static Map<String, Double> numberMap(ObjectNode root, String field) {
        JsonNode n = root.get(field);
        Map<String, Double> out = new TreeMap<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isObject()) {
            throw ApiException.invalid(field, field + " must be an object of numbers");
        }
        var it = n.fields();
        while (it.hasNext()) {
            var e = it.next();
            if (!e.getValue().isNumber() || e.getValue().asDouble() < 0) {
                throw ApiException.invalid(field + "." + e.getKey(), field + "." + e.getKey() + " must be a number >= 0");
            }
            out.put(e.getKey(), e.getValue().asDouble());
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> objectMap(ObjectNode root, String field) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return Map.of();
        }
        if (!n.isObject()) {
            throw ApiException.invalid(field, field + " must be an object");
        }
        return Json.MAPPER.convertValue(n, Map.class);
    }

    /** SHA-256 of the body with object keys sorted, so key order and whitespace do not matter. */
    static String hash(JsonNode root) {
        try {
            Object plain = Json.MAPPER.convertValue(root, Object.class);
            byte[] canonical = Json.MAPPER.writeValueAsString(plain).getBytes(StandardCharsets.UTF_8);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
        } catch (JsonProcessingException | NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
