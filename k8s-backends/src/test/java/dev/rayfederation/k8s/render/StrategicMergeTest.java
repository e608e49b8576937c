package dev.rayfederation.k8s.render;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class StrategicMergeTest {

    @Test
    void mergesMapsRecursivelyAndANullDeletesAKey() {
        Map<String, Object> base = Map.of("spec", Map.of("nodeSelector", Map.of("a", "1", "b", "2"), "priorityClassName", "low"));
        Map<String, Object> patch = new HashMap<>();
        Map<String, Object> selector = new HashMap<>();
        selector.put("b", null);
        selector.put("c", "3");
        patch.put("spec", Map.of("nodeSelector", selector));

        Map<String, Object> merged = StrategicMerge.apply(base, patch);

        assertThat(merged).isEqualTo(Map.of("spec", Map.of("nodeSelector", Map.of("a", "1", "c", "3"), "priorityClassName", "low")));
    }

    @Test
    void mergesContainersByNameAndAppendsNewOnes() {
        Map<String, Object> base = Map.of("containers", List.of(
                Map.of("name", "ray-worker", "image", "rayproject/ray:2.60.0", "env", List.of(Map.of("name", "A", "value", "1"))),
                Map.of("name", "log", "image", "fluent-bit")));
        Map<String, Object> patch = Map.of("containers", List.of(
                Map.of("name", "ray-worker", "image", "mirror.example/ray:2.60.0", "env", List.of(Map.of("name", "B", "value", "2"))),
                Map.of("name", "extra", "image", "busybox")));

        Map<String, Object> merged = StrategicMerge.apply(base, patch);

        assertThat(merged.get("containers")).isEqualTo(List.of(
                Map.of("name", "ray-worker", "image", "mirror.example/ray:2.60.0",
                        "env", List.of(Map.of("name", "A", "value", "1"), Map.of("name", "B", "value", "2"))),
                Map.of("name", "log", "image", "fluent-bit"),
                Map.of("name", "extra", "image", "busybox")));
    }

    @Test
    void replacesListsWithoutNamesAndDeletesNamedItemsOnRequest() {
        Map<String, Object> base = Map.of(
                "tolerations", List.of(Map.of("key", "a", "operator", "Exists")),
                "volumes", List.of(Map.of("name", "cache", "emptyDir", Map.of()), Map.of("name", "data", "emptyDir", Map.of())));
        Map<String, Object> patch = Map.of(
                "tolerations", List.of(Map.of("key", "b", "operator", "Exists")),
                "volumes", List.of(Map.of("name", "cache", "$patch", "delete")));

        Map<String, Object> merged = StrategicMerge.apply(base, patch);

        assertThat(merged.get("tolerations")).isEqualTo(List.of(Map.of("key", "b", "operator", "Exists")));
        assertThat(merged.get("volumes")).isEqualTo(List.of(Map.of("name", "data", "emptyDir", Map.of())));
    }

    @Test
    void neverModifiesItsInputs() {
        Map<String, Object> inner = new HashMap<>(Map.of("a", "1"));
        Map<String, Object> base = new HashMap<>(Map.of("spec", inner));

        Map<String, Object> merged = StrategicMerge.apply(base, Map.of("spec", Map.of("a", "2")));

        assertThat(inner).containsEntry("a", "1");
        assertThat(merged).isEqualTo(Map.of("spec", Map.of("a", "2")));
    }

    @Test
    void treatsMissingTemplateOrOverrideAsEmpty() {
        assertThat(StrategicMerge.apply(null, null)).isEmpty();
        assertThat(StrategicMerge.apply(null, Map.of("spec", Map.of()))).isEqualTo(Map.of("spec", Map.of()));
    }
}
