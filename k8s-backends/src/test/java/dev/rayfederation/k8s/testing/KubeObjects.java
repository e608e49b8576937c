package dev.rayfederation.k8s.testing;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.TaintBuilder;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small builders of Nodes and Pods for tests. */
public final class KubeObjects {

    private KubeObjects() {
    }

    /** A fluent Node description. */
    public static final class NodeSpec {
        private final String name;
        private final Map<String, String> allocatable = new LinkedHashMap<>();
        private final Map<String, String> labels = new LinkedHashMap<>();
        private final List<Taint> taints = new java.util.ArrayList<>();
        private boolean ready = true;
        private boolean cordoned;

        private NodeSpec(String name) {
            this.name = name;
        }

        public NodeSpec cpu(String q) {
            allocatable.put("cpu", q);
            return this;
        }

        public NodeSpec memory(String q) {
            allocatable.put("memory", q);
            return this;
        }

        public NodeSpec gpus(String q) {
            allocatable.put("nvidia.com/gpu", q);
            return this;
        }

        public NodeSpec pods(String q) {
            allocatable.put("pods", q);
            return this;
        }

        public NodeSpec resource(String name, String q) {
            allocatable.put(name, q);
            return this;
        }

        public NodeSpec label(String k, String v) {
            labels.put(k, v);
            return this;
        }

        public NodeSpec taint(String key, String value, String effect) {
            taints.add(new TaintBuilder().withKey(key).withValue(value).withEffect(effect).build());
            return this;
        }

        public NodeSpec notReady() {
            ready = false;
            return this;
        }

        public NodeSpec cordoned() {
            cordoned = true;
            return this;
        }

        public Node build() {
            Map<String, Quantity> alloc = new LinkedHashMap<>();
            allocatable.forEach((k, v) -> alloc.put(k, new Quantity(v)));
            return new NodeBuilder()
                    .withNewMetadata().withName(name).withLabels(labels).endMetadata()
                    .withNewSpec().withUnschedulable(cordoned ? Boolean.TRUE : null).withTaints(taints).endSpec()
                    .withNewStatus()
                    .withAllocatable(alloc)
                    .withCapacity(alloc)
                    .addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition()
                    .endStatus()
                    .build();
        }
    }

    public static NodeSpec node(String name) {
        return new NodeSpec(name);
    }

    /** A Running pod bound to {@code nodeName} (null: unbound) whose single container requests {@code requests}. */
    public static Pod pod(String namespace, String name, String nodeName, Map<String, String> requests) {
        Map<String, Quantity> req = new LinkedHashMap<>();
        requests.forEach((k, v) -> req.put(k, new Quantity(v)));
        return new PodBuilder()
                .withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
                .withNewSpec()
                .withNodeName(nodeName)
                .addToContainers(new ContainerBuilder().withName("main").withImage("busybox")
                        .withNewResources().withRequests(req).endResources().build())
                .endSpec()
                .withNewStatus().withPhase("Running").endStatus()
                .build();
    }

    public static Pod withPhase(Pod pod, String phase) {
        return new PodBuilder(pod).editOrNewStatus().withPhase(phase).endStatus().build();
    }
}
