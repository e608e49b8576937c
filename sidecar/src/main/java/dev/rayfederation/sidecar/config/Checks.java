package dev.rayfederation.sidecar.config;

import java.util.Map;
import java.util.Optional;

/** Small checks shared by the section readers. */
final class Checks {

    private Checks() {
    }

    /** Reports {@code problem} at {@code at} if there is one; true when there is none. */
    static boolean valid(ConfigNode at, Optional<String> problem) {
        problem.ifPresent(at::problem);
        return problem.isEmpty();
    }

    /**
     * Reports a name already used by another item of the same list ("'x' is already used by clusters[0]").
     *
     * @param pathByName names seen so far → the path of their item
     */
    static boolean unique(ConfigNode at, String name, Map<String, String> pathByName) {
        String itemPath = at.path().substring(0, at.path().lastIndexOf('.'));
        String earlier = pathByName.putIfAbsent(name, itemPath);
        if (earlier != null) {
            at.problem("'" + name + "' is already used by " + earlier + " (must be unique)");
            return false;
        }
        return true;
    }
}
