package dev.rayfederation.k8s.member;

/** Informer events about our worker pods in one member. Called on the informer's thread: keep it short. */
public interface WorkerPodListener {

    /** A worker pod was added or changed. */
    void onUpsert(WorkerPod pod);

    /** A worker pod is gone from the member (deleted, evicted and removed, ...). */
    void onDelete(WorkerPod pod);
}
