package dev.rayfederation.k8s.render;

/**
 * Names of the labels, annotations and environment variables every worker pod carries.
 * The sidecar rebuilds its whole state from these after a restart: never rename one.
 */
public final class WorkerPodContract {

    public static final String LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String MANAGED_BY_VALUE = "ray-federation";
    public static final String LABEL_RAY_CLUSTER = "ray-federation.io/ray-cluster";
    public static final String LABEL_NODE_ID = "ray-federation.io/node-id";
    public static final String LABEL_POOL = "ray-federation.io/pool";
    public static final String LABEL_VIRTUAL_CLUSTER = "ray-federation.io/virtual-cluster";
    public static final String LABEL_NODE_TYPE = "ray-federation.io/node-type";

    public static final String ANNOTATION_TAGS = "ray-federation.io/tags";
    public static final String ANNOTATION_REQUEST_ID = "ray-federation.io/request-id";
    /** SHA-256 of the create request's canonical body, so a replay after a restart can be told from a conflict. */
    public static final String ANNOTATION_REQUEST_HASH = "ray-federation.io/request-hash";
    /** How many workers the create request asked for. */
    public static final String ANNOTATION_REQUEST_COUNT = "ray-federation.io/request-count";

    public static final String ENV_INSTANCE_ID = "RAY_CLOUD_INSTANCE_ID";
    public static final String ENV_NODE_TYPE = "RAY_NODE_TYPE_NAME";
    public static final String ENV_REGION = "RAY_NODE_REGION";
    public static final String ENV_ZONE = "RAY_NODE_ZONE";
    /**
     * Set only when the pool template's worker container brings its own command or args: the shell-quoted
     * arguments of {@code ray start} (use as {@code eval "ray start $RAY_FEDERATION_RAY_START_ARGS"}).
     */
    public static final String ENV_RAY_START_ARGS = "RAY_FEDERATION_RAY_START_ARGS";

    /** Ray node labels every worker advertises. */
    public static final String RAY_LABEL_VIRTUAL_CLUSTER = "ray-federation.io/virtual-cluster";
    public static final String RAY_LABEL_MEMBER = "ray-federation.io/member";

    /** The container that runs {@code ray start}; the pool template's first container if none has this name. */
    public static final String WORKER_CONTAINER = "ray-worker";

    /**
     * The worker container's default readiness probe: the raylet's health as the Ray dashboard agent reports it
     * (the check KubeRay uses for its own workers). Ready means "joined Ray", not merely "container started".
     */
    public static final String READINESS_PATH = "/api/local_raylet_healthz";
    public static final int READINESS_PORT = 52365;

    private WorkerPodContract() {
    }

    /** Label selector that finds every worker of one Ray cluster in a member. */
    public static java.util.Map<String, String> selector(String rayClusterName) {
        return java.util.Map.of(LABEL_MANAGED_BY, MANAGED_BY_VALUE, LABEL_RAY_CLUSTER, rayClusterName);
    }
}
