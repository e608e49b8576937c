package dev.rayfederation.sidecar.registry;

/** Ray's node tags (python/ray/autoscaler/tags.py) the sidecar reads or maintains. */
public final class RayTags {

    public static final String NODE_NAME = "ray-node-name";
    /** The node's kind: head, worker or unmanaged. */
    public static final String NODE_KIND = "ray-node-type";
    public static final String USER_NODE_TYPE = "ray-user-node-type";
    public static final String NODE_STATUS = "ray-node-status";
    public static final String LAUNCH_REQUEST = "ray-launch-request";
    public static final String CLUSTER_NAME = "ray-cluster-name";

    public static final String STATUS_UP_TO_DATE = "up-to-date";
    public static final String STATUS_UPDATE_FAILED = "update-failed";

    private RayTags() {
    }
}
