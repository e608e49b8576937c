package dev.rayfederation.k8s.render;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;

import java.util.ArrayList;
import java.util.List;

/** Finds (or adds) the container of a pod template that runs {@code ray start}. */
public final class WorkerContainers {

    /**
     * Image of the worker container when the template has no container at all, or the worker container
     * names no image: Ray's image matching the Ray version this project is tested with.
     */
    public static final String DEFAULT_IMAGE = "rayproject/ray:2.60.0";

    private WorkerContainers() {
    }

    /** Index of the container named {@value WorkerPodContract#WORKER_CONTAINER}, else 0; -1 when there are none. */
    public static int indexIn(List<Container> containers) {
        if (containers == null || containers.isEmpty()) {
            return -1;
        }
        for (int i = 0; i < containers.size(); i++) {
            if (WorkerPodContract.WORKER_CONTAINER.equals(containers.get(i).getName())) {
                return i;
            }
        }
        return 0;
    }

    /**
     * The worker container of {@code spec}, added as {@value WorkerPodContract#WORKER_CONTAINER} with
     * {@link #DEFAULT_IMAGE} when the spec has no container; a worker container without a name or image gets them.
     */
    public static Container workerOf(PodSpec spec) {
        List<Container> containers = spec.getContainers() == null ? new ArrayList<>() : new ArrayList<>(spec.getContainers());
        int at = indexIn(containers);
        Container worker;
        if (at < 0) {
            worker = new Container();
            containers.add(worker);
        } else {
            worker = containers.get(at);
        }
        if (worker.getName() == null || worker.getName().isBlank()) {
            worker.setName(WorkerPodContract.WORKER_CONTAINER);
        }
        if (worker.getImage() == null || worker.getImage().isBlank()) {
            worker.setImage(DEFAULT_IMAGE);
        }
        spec.setContainers(containers);
        return worker;
    }
}
