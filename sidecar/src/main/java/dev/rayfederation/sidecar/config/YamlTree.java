package dev.rayfederation.sidecar.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads YAML text into a Jackson tree, keeping what a plain {@code readTree} gets wrong for hand-written
 * files: an alias ({@code *name}) becomes a copy of its anchored node (not the text "name"), merge keys
 * ({@code <<: *base}) merge maps, and a key written twice is reported as a problem with its path instead
 * of the last value silently winning.
 */
final class YamlTree {

    private static final YAMLFactory FACTORY = YAMLFactory.builder().build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** The text is not YAML at all; the message says where and why. */
    static final class SyntaxError extends Exception {
        SyntaxError(String message) {
            super(message);
        }
    }

    private final YAMLParser parser;
    private final Problems problems;
    private final Map<String, JsonNode> anchors = new HashMap<>();

    private YamlTree(YAMLParser parser, Problems problems) {
        this.parser = parser;
        this.problems = problems;
    }

    /**
     * The document's tree; {@link MissingNode} when the text holds no document (empty, or only comments).
     * Duplicate keys, undefined aliases and extra documents are added to {@code problems}.
     */
    static JsonNode read(String text, Problems problems) throws SyntaxError {
        try (YAMLParser parser = FACTORY.createParser(text)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                return MissingNode.getInstance();
            }
            JsonNode root = new YamlTree(parser, problems).value(first, "");
            if (parser.nextToken() != null) {
                problems.add("", "the file holds more than one YAML document (---); put the whole config in one");
            }
            return root;
        } catch (JsonProcessingException e) {
            throw new SyntaxError(syntaxMessage(e));
        } catch (IOException e) {
            // reading from a String: only the parser's own failures can land here
            throw new SyntaxError(e.getMessage());
        }
    }

    private JsonNode value(JsonToken token, String path) throws IOException {
        Object anchor = parser.getObjectId();
        JsonNode node = switch (token) {
            case START_OBJECT -> map(path);
            case START_ARRAY -> list(path);
            case VALUE_STRING -> parser.isCurrentAlias() ? alias(parser.getText(), path) : TextNode.valueOf(parser.getText());
            case VALUE_NUMBER_INT -> switch (parser.getNumberType()) {
                case INT -> IntNode.valueOf(parser.getIntValue());
                case LONG -> LongNode.valueOf(parser.getLongValue());
                default -> BigIntegerNode.valueOf(parser.getBigIntegerValue());
            };
            case VALUE_NUMBER_FLOAT -> DoubleNode.valueOf(parser.getDoubleValue());
            case VALUE_TRUE -> BooleanNode.TRUE;
            case VALUE_FALSE -> BooleanNode.FALSE;
            case VALUE_NULL -> NullNode.getInstance();
            default -> TextNode.valueOf(parser.getText());
        };
        if (anchor != null) {
            anchors.put(anchor.toString(), node);
        }
        return node;
    }

    private ObjectNode map(String path) throws IOException {
        ObjectNode map = NODES.objectNode();
        List<JsonNode> merged = new ArrayList<>();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String key = parser.currentName();
            String childPath = ConfigNode.childPath(path, key);
            JsonNode child = value(parser.nextToken(), childPath);
            if (key.equals("<<")) {
                merged.add(child);
            } else if (map.has(key)) {
                problems.add(childPath, "duplicate key (set twice in this map)");
            } else {
                map.set(key, child);
            }
        }
        for (JsonNode source : merged) {
            mergeInto(map, source, path);
        }
        return map;
    }

    /** YAML merge keys: explicit keys win, then earlier merged maps win over later ones. */
    private void mergeInto(ObjectNode map, JsonNode source, String path) {
        if (source.isObject()) {
            source.properties().forEach(e -> {
                if (!map.has(e.getKey())) {
                    map.set(e.getKey(), e.getValue());
                }
            });
        } else if (source.isArray()) {
            source.forEach(item -> mergeInto(map, item, path));
        } else {
            problems.add(ConfigNode.childPath(path, "<<"), "a merge key must refer to a map (<<: *anchor)");
        }
    }

    private ArrayNode list(String path) throws IOException {
        ArrayNode list = NODES.arrayNode();
        JsonToken token;
        while ((token = parser.nextToken()) != JsonToken.END_ARRAY && token != null) {
            list.add(value(token, path + "[" + list.size() + "]"));
        }
        return list;
    }

    private JsonNode alias(String name, String path) {
        JsonNode target = anchors.get(name);
        if (target == null) {
            problems.add(path, "refers to *" + name + " but no &" + name + " anchor comes before it");
            return NullNode.getInstance();
        }
        return target.deepCopy();
    }

    private static String syntaxMessage(JsonProcessingException e) {
        if (e.getCause() instanceof MarkedYAMLException marked && marked.getProblem() != null) {
            Mark mark = marked.getProblemMark();
            return marked.getProblem()
                    + (mark == null ? "" : " (line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1) + ")");
        }
        String original = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
        String why = original.lines().findFirst().orElse(original);
        JsonLocation at = e.getLocation();
        return at == null || at.getLineNr() < 1
                ? why
                : why + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
    }
}
