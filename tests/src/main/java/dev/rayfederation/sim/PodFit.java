package dev.rayfederation.sim;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirement;
import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.Toleration;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The kube-scheduler's filters, small: does a pod fit a node, and if it fits nowhere, the message the scheduler
 * would write ({@code 0/4 nodes are available: 4 Insufficient nvidia.com/gpu.}). Pure functions.
 *
 * <p>Per node, in the scheduler's order: cordoned ({@code spec.unschedulable}); untolerated NoSchedule/NoExecute
 * taints (a not-Ready node counts as tainted {@code node.kubernetes.io/not-ready}); nodeSelector and required node
 * affinity; then resources: allocatable minus the requests of the pods bound to the node must cover the pod's
 * requests, and a node holds at most its allocatable {@code pods}. A pod fits on ONE node or not at all.
 */
public final class PodFit {

    static final String NOT_READY_TAINT = "node.kubernetes.io/not-ready";

    private PodFit() {
    }

    /** Where a pod goes: a node name, or none and the scheduler's message. */
    public record Placement(String nodeName, String message) {
        public boolean bound() {
            return nodeName != null;
        }
    }

    /**
     * The first node (in the given order) that fits, else the Unschedulable message.
     *
     * @param used requests of the pods bound to each node, by node name, with {@code pods} counting them
     */
    public static Placement place(Pod pod, List<Node> nodes, Map<String, ResourceAmounts> used) {
        if (nodes.isEmpty()) {
            return new Placement(null, "no nodes available to schedule pods");
        }
        ResourceAmounts request = requests(pod).plus(ResourceAmounts.single("pods", 1));
        Map<String, Integer> reasons = new TreeMap<>();
        for (Node node : nodes) {
            List<String> why = reasons(pod.getSpec(), request, node, used.getOrDefault(name(node), ResourceAmounts.NONE));
            if (why.isEmpty()) {
                return new Placement(name(node), null);
            }
            why.forEach(r -> reasons.merge(r, 1, Integer::sum));
        }
        List<String> parts = new ArrayList<>();
        reasons.forEach((r, n) -> parts.add(n + " " + r));
        return new Placement(null, "0/" + nodes.size() + " nodes are available: " + String.join(", ", parts) + ".");
    }

    /**
     * How many more pods with this spec would fit, node by node (floor division of each node's free room), for
     * "how much room is left" displays.
     */
    public static long room(Pod pod, List<Node> nodes, Map<String, ResourceAmounts> used) {
        ResourceAmounts request = requests(pod).plus(ResourceAmounts.single("pods", 1));
        long total = 0;
        for (Node node : nodes) {
            ResourceAmounts usedHere = used.getOrDefault(name(node), ResourceAmounts.NONE);
            if (placementReasons(pod.getSpec(), node).isEmpty()) {
                total += request.timesIn(allocatable(node).minus(usedHere));
            }
        }
        return total;
    }

    /** Why a pod does not fit this node (scheduler wording, without counts); empty when it fits. */
    static List<String> reasons(PodSpec spec, ResourceAmounts request, Node node, ResourceAmounts used) {
        List<String> why = placementReasons(spec, node);
        if (!why.isEmpty()) {
            return why;
        }
        List<String> out = new ArrayList<>();
        for (String r : request.insufficientIn(allocatable(node).minus(used))) {
            out.add(r.equals("pods") ? "Too many pods" : "Insufficient " + r);
        }
        return out;
    }

    /** The filters before resources: cordon, taints, selector/affinity. */
    private static List<String> placementReasons(PodSpec spec, Node node) {
        if (node.getSpec() != null && Boolean.TRUE.equals(node.getSpec().getUnschedulable())) {
            return List.of("node(s) were unschedulable");
        }
        List<Toleration> tolerations = spec == null || spec.getTolerations() == null ? List.of() : spec.getTolerations();
        for (Taint t : effectiveTaints(node)) {
            if (("NoSchedule".equals(t.getEffect()) || "NoExecute".equals(t.getEffect()))
                    && tolerations.stream().noneMatch(tol -> tolerates(tol, t))) {
                return List.of("node(s) had untolerated taint {" + t.getKey() + ": "
                        + Objects.toString(t.getValue(), "") + "}");
            }
        }
        if (!matchesSelector(spec, labels(node))) {
            return List.of("node(s) didn't match Pod's node affinity/selector");
        }
        return List.of();
    }

    /** Sum of the containers' requests (a limit stands for a missing request), at least each init container's. */
    public static ResourceAmounts requests(Pod pod) {
        PodSpec spec = pod.getSpec();
        if (spec == null) {
            return ResourceAmounts.NONE;
        }
        ResourceAmounts sum = ResourceAmounts.NONE;
        for (Container c : Optional.ofNullable(spec.getContainers()).orElse(List.of())) {
            sum = sum.plus(containerRequests(c));
        }
        for (Container c : Optional.ofNullable(spec.getInitContainers()).orElse(List.of())) {
            sum = sum.max(containerRequests(c));
        }
        if (spec.getOverhead() != null) {
            sum = sum.plus(ResourceAmounts.of(spec.getOverhead()));
        }
        return sum;
    }

    private static ResourceAmounts containerRequests(Container c) {
        if (c.getResources() == null) {
            return ResourceAmounts.NONE;
        }
        Map<String, Quantity> merged = new HashMap<>();
        if (c.getResources().getLimits() != null) {
            merged.putAll(c.getResources().getLimits());
        }
        if (c.getResources().getRequests() != null) {
            merged.putAll(c.getResources().getRequests());
        }
        return ResourceAmounts.of(merged);
    }

    public static ResourceAmounts allocatable(Node node) {
        return node.getStatus() == null ? ResourceAmounts.NONE : ResourceAmounts.of(node.getStatus().getAllocatable());
    }

    public static boolean isReady(Node node) {
        if (node.getStatus() == null || node.getStatus().getConditions() == null) {
            return false;
        }
        for (NodeCondition c : node.getStatus().getConditions()) {
            if ("Ready".equals(c.getType())) {
                return "True".equals(c.getStatus());
            }
        }
        return false;
    }

    private static List<Taint> effectiveTaints(Node node) {
        List<Taint> taints = new ArrayList<>();
        if (node.getSpec() != null && node.getSpec().getTaints() != null) {
            taints.addAll(node.getSpec().getTaints());
        }
        if (!isReady(node)) {
            Taint notReady = new Taint();
            notReady.setKey(NOT_READY_TAINT);
            notReady.setEffect("NoSchedule");
            taints.add(notReady);
        }
        return taints;
    }

    /** Kubernetes' toleration rule: empty key with Exists tolerates all; empty effect matches every effect. */
    static boolean tolerates(Toleration tol, Taint taint) {
        if (tol.getEffect() != null && !tol.getEffect().isEmpty() && !tol.getEffect().equals(taint.getEffect())) {
            return false;
        }
        boolean exists = "Exists".equals(tol.getOperator());
        if (tol.getKey() == null || tol.getKey().isEmpty()) {
            return exists;
        }
        if (!tol.getKey().equals(taint.getKey())) {
            return false;
        }
        return exists || Objects.toString(tol.getValue(), "").equals(Objects.toString(taint.getValue(), ""));
    }

    private static Map<String, String> labels(Node node) {
        return node.getMetadata().getLabels() == null ? Map.of() : node.getMetadata().getLabels();
    }

    private static String name(Node node) {
        return node.getMetadata().getName();
    }

    static boolean matchesSelector(PodSpec spec, Map<String, String> nodeLabels) {
        if (spec == null) {
            return true;
        }
        if (spec.getNodeSelector() != null) {
            for (Map.Entry<String, String> e : spec.getNodeSelector().entrySet()) {
                if (!e.getValue().equals(nodeLabels.get(e.getKey()))) {
                    return false;
                }
            }
        }
        if (spec.getAffinity() == null || spec.getAffinity().getNodeAffinity() == null
                || spec.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution() == null) {
            return true;
        }
        List<NodeSelectorTerm> terms = spec.getAffinity().getNodeAffinity()
                .getRequiredDuringSchedulingIgnoredDuringExecution().getNodeSelectorTerms();
        if (terms == null || terms.isEmpty()) {
            return true;
        }
        return terms.stream().anyMatch(term -> matchesTerm(term, nodeLabels));
    }

    private static boolean matchesTerm(NodeSelectorTerm term, Map<String, String> labels) {
        List<NodeSelectorRequirement> exprs = term.getMatchExpressions() == null ? List.of() : term.getMatchExpressions();
        for (NodeSelectorRequirement r : exprs) {
            String value = labels.get(r.getKey());
            List<String> values = r.getValues() == null ? List.of() : r.getValues();
            boolean ok = switch (r.getOperator()) {
                case "In" -> value != null && values.contains(value);
                case "NotIn" -> value == null || !values.contains(value);
                case "Exists" -> value != null;
                case "DoesNotExist" -> value == null;
                case "Gt" -> value != null && !values.isEmpty() && compareNumbers(value, values.get(0)) > 0;
                case "Lt" -> value != null && !values.isEmpty() && compareNumbers(value, values.get(0)) < 0;
                default -> false;
            };
            if (!ok) {
                return false;
            }
        }
        // an empty term matches nothing; matchFields are not simulated (a fields-only term matches every node)
        return !exprs.isEmpty() || (term.getMatchFields() != null && !term.getMatchFields().isEmpty());
    }

    private static int compareNumbers(String a, String b) {
        try {
            return Long.compare(Long.parseLong(a), Long.parseLong(b));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Requests per node of the given bound pods (by node name), counting {@code pods}. */
    public static Map<String, ResourceAmounts> usage(List<Pod> boundPods) {
        Map<String, ResourceAmounts> used = new LinkedHashMap<>();
        for (Pod p : boundPods) {
            String node = p.getSpec() == null ? null : p.getSpec().getNodeName();
            if (node != null && !isTerminated(p)) {
                used.merge(node, requests(p).plus(ResourceAmounts.single("pods", 1)), ResourceAmounts::plus);
            }
        }
        return used;
    }

    /** Deleted (deletionTimestamp set) or finished (Succeeded/Failed): holds no room. */
    public static boolean isTerminated(Pod pod) {
        if (pod.getMetadata().getDeletionTimestamp() != null) {
            return true;
        }
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        return "Succeeded".equals(phase) || "Failed".equals(phase);
    }
}
