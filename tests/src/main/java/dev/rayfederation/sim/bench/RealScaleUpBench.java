package dev.rayfederation.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.k8s.render.WorkerPodContract;
import dev.rayfederation.real.RealMember;
import dev.rayfederation.real.RealMembers;
import dev.rayfederation.sim.MemberSpec;
import dev.rayfederation.sim.NodeSpec;
import dev.rayfederation.sim.RepoRoot;
import dev.rayfederation.sim.SidecarApi;
import dev.rayfederation.sim.SidecarConfig;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Scale-up against real member control planes: M members started by {@code scripts/lib/kube-member} (etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler, kwok making scheduled pods Running), the sidecar jar
 * configured with the members' token-only kubeconfigs and one pool of 1-CPU workers, and W workers requested the way
 * Ray's autoscaler launches them (batches of 5, 10 in flight). Measures the time until every create is answered (the
 * sidecar answers once the pods exist), until every pod is bound to a node and until every pod is Running (an
 * informer per member on the admin kubeconfig), then counts: exactly W worker pods, one per node id, all Running,
 * none lost or duplicated. Also the CPU time of every process and what the API servers say about where a create's
 * time goes (their /metrics before and after: request, admission, etcd and priority-and-fairness queue times), and
 * every request of the sidecar from the audit logs. Fresh members and sidecar per run.
 */
final class RealScaleUpBench {

    /**
     * @param workers     workers to create in all
     * @param members     member control planes
     * @param batch       workers per create request
     * @param concurrency create requests in flight
     * @param runs        fresh members and sidecar per run
     * @param rateLimit   the sidecar's {@code resilience.rateLimit.requestsPerSecond} per member, or null for its default
     * @param label       appended to every figure id after the size (an experiment next to the plain row); may be null
     */
    record Options(int workers, int members, int batch, int concurrency, int runs, Integer rateLimit, String label) {
    }

    static final String[] NAMES = {"aws-use1", "gcp-usc1", "azure-eus", "oci-fra1", "ibm-dal1", "ali-hz1"};
    static final String[] CLOUDS = {"aws", "gcp", "azure", "oci", "ibm", "alibaba"};
    /** A node: 120 CPU (room for 120 workers of 1 CPU), 480Gi, 200 pods. Ten of them take 1,000 workers plus 20 %. */
    static final int NODE_CPU = 120;
    static final String NODE_MEMORY = "480Gi";
    static final String NODE_PODS = "200";
    static final String[] COMPONENTS = {"kube-apiserver", "etcd", "kube-scheduler", "kube-controller-manager", "kwok"};

    private final BenchEnv env;
    private final Options o;
    private final Results results;

    RealScaleUpBench(BenchEnv env, Options options, Results results) {
        this.env = env;
        this.o = options;
        this.results = results;
    }

    /** The directory of the built Kubernetes binaries, or null when they are not built (this never builds them). */
    static Path binaries() {
        Path script = RepoRoot.find().resolve("scripts/lib/kube-binaries");
        try {
            Process p = new ProcessBuilder(script.toString(), "--check").redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 && !out.isEmpty() ? Path.of(out) : null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + script, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** One measured run. */
    private record Run(double createdS, double scheduledS, double runningS, ScaleUpBench.Outcome out, Latencies lag,
                       Latencies bindLag, Latencies runLag,
                       Map<String, Double> cpu, Counts counts, Map<String, Double> server, Map<String, Double> audit,
                       Map<String, Double> clients, double rss, double heap, double membersStartS) {
    }

    /** What the members hold after a run, against what the sidecar answered. */
    record Counts(int pods, int lost, int duplicated, int unexpected, int notRunning, int listed, Map<String, Integer> perMember) {
        boolean clean(int workers) {
            return pods == workers && lost == 0 && duplicated == 0 && unexpected == 0 && notRunning == 0 && listed == workers;
        }
    }

    void run() throws Exception {
        if (binaries() == null) {
            throw new IllegalStateException("no Kubernetes binaries: build them once with scripts/lib/kube-binaries "
                    + "(about 20 minutes on 2 cores); this benchmark never builds them");
        }
        List<Run> runs = new ArrayList<>();
        String failure = null;
        for (int run = 0; run < o.runs(); run++) {
            Run r = runOnce(run);
            runs.add(r);
            System.out.printf("bench: real-scale-up run %d: %d workers created in %.1f s (%.0f pods/s), bound in %.1f s, "
                            + "Running in %.1f s; %s%n", run + 1, o.workers(), r.createdS(), o.workers() / r.createdS(),
                    r.scheduledS(), r.runningS(), r.counts());
            if (!r.counts().clean(o.workers()) && failure == null) {
                failure = "run " + (run + 1) + ": " + r.counts() + " for " + o.workers() + " workers";
            }
        }
        report(runs);
        if (failure != null) {
            throw new IllegalStateException("real-scale-up: the members do not hold exactly one Running pod per worker: " + failure);
        }
    }

    private String id(String base) {
        return base + ".w" + o.workers() + (o.label() == null ? "" : "." + o.label());
    }

    private List<MemberSpec> specs() {
        int room = (o.workers() + o.members() - 1) / o.members();
        int nodes = Math.max(2, (int) Math.ceil(room * 1.2 / NODE_CPU));
        List<MemberSpec> specs = new ArrayList<>();
        for (int i = 0; i < o.members(); i++) {
            String name = i < NAMES.length ? NAMES[i] : "member-" + i;
            String cloud = CLOUDS[i % CLOUDS.length];
            specs.add(MemberSpec.of(name, cloud, "region-" + i, "zone-" + i)
                    .withNodes(nodes, "n", n -> NodeSpec.of(n, NODE_CPU, NODE_MEMORY).withResource("pods", NODE_PODS)));
        }
        return specs;
    }

    private Run runOnce(int run) throws Exception {
        Path dir = env.workDir().resolve("real-scale-up").resolve("run-" + run).toAbsolutePath();
        Files.createDirectories(dir);
        long s0 = System.nanoTime();
        try (RealMembers members = RealMembers.start(specs(), dir.resolve("members"))) {
            double membersStartS = (System.nanoTime() - s0) / 1e9;
            System.out.printf("bench: real-scale-up run %d: %d members up in %.1f s%n", run + 1, o.members(), membersStartS);
            SidecarConfig config = members.sidecarConfig("bench")
                    .withVirtualCluster(SidecarConfig.VirtualCluster.of("vc"))
                    .withPool(SidecarConfig.Pool.of("cpu", "vc", Map.of("CPU", 1, "memory", "2Gi"))
                            .withMaxWorkers(o.workers() + 100))
                    // kwok runs every bound pod at once; a pod that waits long for the scheduler on a loaded machine
                    // must not be moved elsewhere by the sidecar in the middle of the measurement
                    .with("replacement", Map.of("startTimeout", "30m", "elasticStartTimeout", "30m"));
            if (o.rateLimit() != null) {
                config = config.with("resilience", Map.of("rateLimit", Map.of("requestsPerSecond", o.rateLimit())));
            }
            try (SidecarRun sidecar = env.startSidecar("real-scale-up", config, dir.resolve("sidecar"));
                 PodWatch watch = PodWatch.start(members.members())) {
                SidecarApi api = new SidecarApi(sidecar.apiUrl(), null);
                awaitHealthy(api, members.members(), sidecar);
                Map<String, PromText> before = scrape(members.members());
                Map<String, Map<String, PromText>> clientsBefore = scrapeClients(members.members());
                Map<String, Double> cpuBefore = cpu(members.members(), sidecar);
                PromText sidecarBefore = sidecarMetrics(sidecar);

                long[] machineBefore = machineCpu();
                long t0 = System.nanoTime();
                watch.startClock(t0, o.workers());
                ScaleUpBench.Outcome out = ScaleUpBench.drive(api, o.workers(), o.batch(), o.concurrency(),
                        "real-" + run + "-");
                double createdS = out.nanos() / 1e9;
                Duration runningLimit = Duration.ofSeconds(Math.max(300, o.workers() / 5));
                watch.awaitRunning(t0 + runningLimit.toNanos());
                double wall = (System.nanoTime() - t0) / 1e9;
                long[] machineAfter = machineCpu();
                long events = watch.events();
                Map<String, Double> cpuAfter = cpu(members.members(), sidecar);
                Map<String, PromText> after = scrape(members.members());
                Map<String, Map<String, PromText>> clientsAfter = scrapeClients(members.members());
                Map<String, Double> clients = clientFigures(clientsBefore, clientsAfter);
                PromText sidecarAfter = sidecarMetrics(sidecar);
                Predicate<Map<String, String>> createPod = PromText.label("operation", "create_pod");
                double calls = d(sidecarAfter, sidecarBefore, "ray_federation_member_api_call_duration_seconds_count", createPod);
                clients.put("sidecar.create_call_ms", sidecarAfter.isEmpty() || calls == 0 ? Double.NaN
                        : d(sidecarAfter, sidecarBefore, "ray_federation_member_api_call_duration_seconds_sum", createPod) / calls * 1000);

                Map<String, Double> cpu = new LinkedHashMap<>();
                cpuAfter.forEach((k, v) -> cpu.put(k, v - cpuBefore.getOrDefault(k, 0.0)));
                cpu.put("wall", wall);
                long busy = machineAfter[0] - machineBefore[0];
                long total = machineAfter[1] - machineBefore[1];
                cpu.put("machine_busy", total == 0 ? Double.NaN : (double) busy / total);
                cpu.put("events_per_pod", (double) events / o.workers());
                Counts counts = count(members.members(), out.created(), api);
                SidecarRun.Memory memory = sidecar.memory(true);
                env.memoryProfile(sidecar, "real-scale-up");
                return new Run(createdS, watch.seconds(watch.allBound), watch.seconds(watch.allRunning), out, watch.lag(),
                        watch.bindLag(), watch.runLag(),
                        cpu, counts, serverFigures(before, after), audit(members.members()),
                        clients, sidecar.memory(false).rssMiB(),
                        memory.heapUsedMiB(), membersStartS);
            }
        }
    }

    private static void awaitHealthy(SidecarApi api, List<RealMember> members, SidecarRun sidecar) {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        Map<String, String> states = new TreeMap<>();
        while (System.nanoTime() < deadline) {
            states.clear();
            try {
                api.clusters().body().path("clusters").forEach(c -> states.put(c.path("name").asText(), c.path("state").asText()));
            } catch (RuntimeException e) {
                states.put("?", e.getMessage());
            }
            if (states.size() == members.size() && states.values().stream().allMatch("healthy"::equals)) {
                return;
            }
            SidecarRun.sleep(200);
        }
        throw new IllegalStateException("the members are not all healthy in GET /v1/clusters after 3 minutes: " + states
                + "; sidecar log " + sidecar.logFile() + ":\n" + sidecar.logTail(30));
    }

    // ------------------------------------------------------------------------------------------- pods

    /** One informer per member on the worker pods: when each is first seen, bound to a node, Running. */
    static final class PodWatch implements AutoCloseable {
        private final List<SharedIndexInformer<Pod>> informers = new ArrayList<>();
        private final Map<String, Long> seen = new ConcurrentHashMap<>();
        private final Map<String, Long> bound = new ConcurrentHashMap<>();
        private final Map<String, Long> running = new ConcurrentHashMap<>();
        private final AtomicLong allBound = new AtomicLong();
        private final AtomicLong allRunning = new AtomicLong();
        private final AtomicLong events = new AtomicLong();
        private volatile long t0;
        private volatile int expected = Integer.MAX_VALUE;

        static PodWatch start(List<RealMember> members) {
            PodWatch w = new PodWatch();
            try {
                for (RealMember m : members) {
                    w.informers.add(m.admin().pods().inNamespace(m.namespace())
                            .withLabel(WorkerPodContract.LABEL_MANAGED_BY, WorkerPodContract.MANAGED_BY_VALUE)
                            .inform(w.handler(m.name()), 0));
                }
            } catch (RuntimeException e) {
                w.close();
                throw e;
            }
            return w;
        }

        void startClock(long t0, int expected) {
            this.t0 = t0;
            this.expected = expected;
        }

        private ResourceEventHandler<Pod> handler(String member) {
            return new ResourceEventHandler<>() {
                @Override
                public void onAdd(Pod pod) {
                    saw(member, pod);
                }

                @Override
                public void onUpdate(Pod oldPod, Pod pod) {
                    saw(member, pod);
                }

                @Override
                public void onDelete(Pod pod, boolean unknownFinalState) {
                }
            };
        }

        private void saw(String member, Pod pod) {
            long now = System.nanoTime();
            events.incrementAndGet();
            String key = member + "/" + pod.getMetadata().getName();
            seen.putIfAbsent(key, now);
            if (pod.getSpec() != null && pod.getSpec().getNodeName() != null && bound.putIfAbsent(key, now) == null
                    && bound.size() >= expected) {
                allBound.compareAndSet(0, now);
            }
            if (pod.getStatus() != null && "Running".equals(pod.getStatus().getPhase()) && running.putIfAbsent(key, now) == null
                    && running.size() >= expected) {
                allRunning.compareAndSet(0, now);
            }
        }

        void awaitRunning(long deadlineNanos) {
            while (allRunning.get() == 0 && System.nanoTime() < deadlineNanos) {
                SidecarRun.sleep(50);
            }
        }

        double seconds(AtomicLong at) {
            long v = at.get();
            return v == 0 ? Double.NaN : (v - t0) / 1e9;
        }

        /** Adds and updates of worker pods this watcher has received so far. */
        long events() {
            return events.get();
        }

        /** Per pod, from the informer first seeing it until it is Running (scheduler, then kwok). */
        Latencies lag() {
            return between(seen, running);
        }

        /** Per pod, from the informer first seeing it until it is bound to a node (the scheduler). */
        Latencies bindLag() {
            return between(seen, bound);
        }

        /** Per pod, from the informer first seeing it bound until it is Running (kwok). */
        Latencies runLag() {
            return between(bound, running);
        }

        private static Latencies between(Map<String, Long> from, Map<String, Long> to) {
            Latencies l = new Latencies();
            to.forEach((k, v) -> {
                Long s = from.get(k);
                if (s != null) {
                    l.add(Math.max(0, v - s));
                }
            });
            return l;
        }

        @Override
        public void close() {
            informers.forEach(SharedIndexInformer::close);
        }
    }

    /** Lists every member's worker pods and holds them against the ids the sidecar answered and lists. */
    private Counts count(List<RealMember> members, List<String> created, SidecarApi api) {
        Map<String, Integer> byId = new HashMap<>();
        Map<String, Integer> perMember = new TreeMap<>();
        int pods = 0;
        int notRunning = 0;
        for (RealMember m : members) {
            int here = 0;
            for (Pod p : m.workerPods()) {
                if (p.getMetadata().getDeletionTimestamp() != null) {
                    continue;
                }
                pods++;
                here++;
                String nodeId = p.getMetadata().getLabels().get(WorkerPodContract.LABEL_NODE_ID);
                byId.merge(String.valueOf(nodeId), 1, Integer::sum);
                if (p.getStatus() == null || !"Running".equals(p.getStatus().getPhase())) {
                    notRunning++;
                }
            }
            perMember.put(m.name(), here);
        }
        Set<String> answered = new HashSet<>(created);
        int lost = (int) answered.stream().filter(id -> !byId.containsKey(id)).count();
        int duplicated = byId.values().stream().mapToInt(n -> n - 1).sum() + (created.size() - answered.size());
        int unexpected = (int) byId.keySet().stream().filter(id -> !answered.contains(id)).count();
        int listed = 0;
        SidecarApi.Response nodes = api.getNodes();
        for (JsonNode n : nodes.body().path("nodes")) {
            if ("cpu".equals(n.path("pool").asText())) {
                listed++;
            }
        }
        return new Counts(pods, lost, duplicated, unexpected, notRunning, listed, perMember);
    }

    // ------------------------------------------------------------------------------------------- processes

    /** CPU seconds so far of the sidecar, this JVM and each control-plane component (summed over the members). */
    private static Map<String, Double> cpu(List<RealMember> members, SidecarRun sidecar) {
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("sidecar", sidecar.cpuSeconds());
        out.put("harness", SidecarRun.cpuSeconds(ProcessHandle.current().pid()));
        for (String c : COMPONENTS) {
            double total = 0;
            for (RealMember m : members) {
                try {
                    long pid = Long.parseLong(Files.readString(m.dir().resolve("pids").resolve(c + ".pid")).strip());
                    total += SidecarRun.cpuSeconds(pid);
                } catch (IOException | RuntimeException e) {
                    total = Double.NaN;
                }
            }
            out.put(c, total);
        }
        return out;
    }

    /** Machine-wide CPU time from /proc/stat, in ticks: {busy (everything but idle and iowait), total}. */
    static long[] machineCpu() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i <= 8 && i < f.length; i++) {
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return new long[] {total - idle, total};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    /** The API servers' /metrics (admin client certificate, through curl), one per member; empty when it fails. */
    private static Map<String, PromText> scrape(List<RealMember> members) {
        Map<String, PromText> out = new LinkedHashMap<>();
        for (RealMember m : members) {
            out.put(m.name(), metrics(m, m.server() + "/metrics"));
        }
        return out;
    }

    static PromText metrics(RealMember m, String url) {
        Path pki = m.dir().resolve("pki");
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "30", "--cert", pki.resolve("admin.crt").toString(),
                "--key", pki.resolve("admin.key").toString()));
        if (url.startsWith(m.server())) {
            cmd.addAll(List.of("--cacert", pki.resolve("ca.crt").toString()));
        } else {
            cmd.add("-k"); // the scheduler's serving certificate is self-signed, made at its start
        }
        cmd.add(url);
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return PromText.empty();
            }
            return PromText.parse(text);
        } catch (IOException e) {
            return PromText.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return PromText.empty();
        }
    }

    /** The sidecar's /metrics (management port); empty when it cannot be read. */
    private static PromText sidecarMetrics(SidecarRun sidecar) {
        try {
            SidecarApi.Response r = new SidecarApi(sidecar.managementUrl(), null).get("/metrics", Map.of());
            return r.status() == 200 ? PromText.parse(r.raw()) : PromText.empty();
        } catch (RuntimeException e) {
            return PromText.empty();
        }
    }

    /**
     * The /metrics of each member's scheduler (the API server's client that binds the pods). kwok's /metrics has no
     * client-go figures; its share shows in the bound → Running lag instead.
     */
    private static Map<String, Map<String, PromText>> scrapeClients(List<RealMember> members) {
        Map<String, Map<String, PromText>> out = new LinkedHashMap<>();
        for (RealMember m : members) {
            JsonNode ports;
            try {
                ports = SidecarApi.JSON.readTree(m.dir().resolve("member.json").toFile()).path("ports");
            } catch (IOException e) {
                continue;
            }
            out.computeIfAbsent("kube-scheduler", k -> new LinkedHashMap<>()).put(m.name(),
                    metrics(m, "https://127.0.0.1:" + ports.path("scheduler").asInt() + "/metrics"));
        }
        return out;
    }

    /**
     * Per client component (scheduler, kwok), summed over members, over the scale-up: the requests it sent to its API
     * server and the time they waited in its client-side rate limiter (client-go's
     * {@code rest_client_rate_limiter_duration_seconds}); NaN when its /metrics could not be read.
     */
    private static Map<String, Double> clientFigures(Map<String, Map<String, PromText>> before,
                                                     Map<String, Map<String, PromText>> after) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String component : after.keySet()) {
            double requests = 0, waitS = 0, waited = 0;
            boolean any = false;
            for (Map.Entry<String, PromText> e : after.get(component).entrySet()) {
                PromText a = e.getValue();
                PromText b = before.getOrDefault(component, Map.of()).getOrDefault(e.getKey(), PromText.empty());
                if (a.isEmpty() || b.isEmpty()) {
                    continue;
                }
                any = true;
                requests += d(a, b, "rest_client_requests_total", l -> true);
                waitS += d(a, b, "rest_client_rate_limiter_duration_seconds_sum", l -> true);
                waited += d(a, b, "rest_client_rate_limiter_duration_seconds_count", l -> true);
            }
            out.put(component + ".requests", any ? requests : Double.NaN);
            out.put(component + ".ratelimit_wait_s", any ? waitS : Double.NaN);
            out.put(component + ".ratelimit_wait_ms", any && waited > 0 ? waitS / waited * 1000 : Double.NaN);
        }
        return out;
    }

    /**
     * From the difference of the API servers' metrics over the scale-up, summed over members: mean time per pod
     * create in the API server, in admission, in etcd; requests that waited in a priority-and-fairness queue, their
     * mean wait, and requests it rejected (429).
     */
    private static Map<String, Double> serverFigures(Map<String, PromText> before, Map<String, PromText> after) {
        Map<String, Double> out = new LinkedHashMap<>();
        Predicate<Map<String, String>> podCreate = l -> "POST".equals(l.get("verb")) && "pods".equals(l.get("resource"))
                && (l.get("subresource") == null || l.get("subresource").isEmpty());
        Predicate<Map<String, String>> admissionCreate = l -> "CREATE".equals(l.get("operation"));
        Predicate<Map<String, String>> etcdPodCreate = l -> "create".equals(l.get("operation"))
                && ("pods".equals(l.get("resource")) || String.valueOf(l.get("type")).endsWith("/pods")); // type: before 1.30
        double createSum = 0, createCount = 0, admSum = 0, admCount = 0, etcdSum = 0, etcdCount = 0;
        double waitSum = 0, waitCount = 0, rejected = 0, bindSum = 0, bindCount = 0;
        double seats = 0;
        boolean any = false;
        for (String member : after.keySet()) {
            PromText a = after.get(member);
            PromText b = before.getOrDefault(member, PromText.empty());
            if (a.isEmpty() || b.isEmpty()) {
                continue;
            }
            any = true;
            createSum += d(a, b, "apiserver_request_duration_seconds_sum", podCreate);
            createCount += d(a, b, "apiserver_request_duration_seconds_count", podCreate);
            Predicate<Map<String, String>> binding = l -> "POST".equals(l.get("verb")) && "pods".equals(l.get("resource"))
                    && "binding".equals(l.get("subresource"));
            bindSum += d(a, b, "apiserver_request_duration_seconds_sum", binding);
            bindCount += d(a, b, "apiserver_request_duration_seconds_count", binding);
            admSum += d(a, b, "apiserver_admission_step_admission_duration_seconds_sum", admissionCreate);
            admCount += d(a, b, "apiserver_admission_step_admission_duration_seconds_count", admissionCreate);
            etcdSum += d(a, b, "etcd_request_duration_seconds_sum", etcdPodCreate);
            etcdCount += d(a, b, "etcd_request_duration_seconds_count", etcdPodCreate);
            waitSum += d(a, b, "apiserver_flowcontrol_request_wait_duration_seconds_sum", l -> true);
            waitCount += d(a, b, "apiserver_flowcontrol_request_wait_duration_seconds_count", l -> true);
            rejected += d(a, b, "apiserver_flowcontrol_rejected_requests_total", l -> true);
            seats = Math.max(seats, a.sum("apiserver_flowcontrol_nominal_limit_seats", PromText.label("priority_level", "workload-low")));
        }
        if (!any) {
            return out;
        }
        out.put("pod_create_ms", createCount == 0 ? Double.NaN : createSum / createCount * 1000);
        out.put("pod_creates", createCount);
        out.put("binding_ms", bindCount == 0 ? Double.NaN : bindSum / bindCount * 1000);
        out.put("admission_ms", createCount == 0 ? Double.NaN : admSum / createCount * 1000);
        out.put("etcd_create_ms", etcdCount == 0 ? Double.NaN : etcdSum / etcdCount * 1000);
        out.put("apf_wait_ms", waitCount == 0 ? Double.NaN : waitSum / waitCount * 1000);
        out.put("apf_rejected", rejected);
        out.put("apf_workload_low_seats", seats);
        return out;
    }

    private static double d(PromText after, PromText before, String name, Predicate<Map<String, String>> labels) {
        return after.sum(name, labels) - before.sum(name, labels);
    }

    /** Every request of the sidecar's ServiceAccount in the audit logs: pod creates, all requests, 429 answers. */
    private static Map<String, Double> audit(List<RealMember> members) {
        double creates = 0, all = 0, throttled = 0, failed = 0;
        for (RealMember m : members) {
            for (JsonNode e : m.auditEvents()) {
                if (!"ResponseComplete".equals(e.path("stage").asText())) {
                    continue;
                }
                all++;
                int code = e.path("responseStatus").path("code").asInt();
                if (code == 429) {
                    throttled++;
                } else if (code >= 400) {
                    failed++;
                }
                if ("create".equals(e.path("verb").asText()) && "pods".equals(e.path("objectRef").path("resource").asText())
                        && e.path("objectRef").path("subresource").isMissingNode()) {
                    creates++;
                }
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("requests", all);
        out.put("pod_creates", creates);
        out.put("throttled", throttled);
        out.put("failed", failed);
        return out;
    }

    // ------------------------------------------------------------------------------------------- figures

    private void report(List<Run> runs) {
        String how = o.workers() + " workers over " + o.members() + " real control planes (etcd without fsync, "
                + "kube-apiserver with its defaults, scheduler, controller-manager, kwok), " + specs().get(0).nodes().size()
                + " kwok nodes of " + NODE_CPU + " CPU / " + NODE_PODS + " pods each per member; creates of " + o.batch()
                + " with " + o.concurrency() + " in flight; sidecar rate limit "
                + (o.rateLimit() == null ? "default (100 requests/s per member)" : o.rateLimit() + " requests/s per member")
                + "; fresh members and sidecar per run";
        results.add(Figure.of(id("realscaleup.seconds"), "real members: " + o.workers() + " workers requested → every create answered (pods exist)",
                "s", map(runs, Run::createdS), how));
        results.add(Figure.of(id("realscaleup.pods_per_s"), "real members: pods created per second", "pods/s",
                map(runs, r -> o.workers() / r.createdS()), how));
        results.add(Figure.of(id("realscaleup.bound_seconds"), "real members: first request → every pod bound to a node (scheduler)",
                "s", map(runs, Run::scheduledS), "an informer per member on the admin kubeconfig; spec.nodeName set"));
        results.add(Figure.of(id("realscaleup.running_seconds"), "real members: first request → every pod Running (kwok)",
                "s", map(runs, Run::runningS), "an informer per member on the admin kubeconfig; status.phase Running"));
        results.add(Figure.of(id("realscaleup.running_pods_per_s"), "real members: pods Running per second", "pods/s",
                map(runs, r -> o.workers() / r.runningS()), null));
        results.add(Figure.of(id("realscaleup.request.p50"), "real members: create request latency, p50", "ms",
                map(runs, r -> r.out().latencies().percentileMillis(50)), null));
        results.add(Figure.of(id("realscaleup.request.p99"), "real members: create request latency, p99", "ms",
                map(runs, r -> r.out().latencies().percentileMillis(99)), null));
        results.add(Figure.of(id("realscaleup.pod_running_lag.p50"), "real members: pod seen → Running, p50", "ms",
                map(runs, r -> r.lag().count() == 0 ? Double.NaN : r.lag().percentileMillis(50)),
                "per pod, from the informer's first event of it (created) to the first showing it Running"));
        results.add(Figure.of(id("realscaleup.pod_running_lag.p99"), "real members: pod seen → Running, p99", "ms",
                map(runs, r -> r.lag().count() == 0 ? Double.NaN : r.lag().percentileMillis(99)), null));
        for (String q : List.of("p50", "p99")) {
            double pct = q.equals("p50") ? 50 : 99;
            results.add(Figure.of(id("realscaleup.pod_bind_lag." + q), "real members: pod seen → bound to a node (scheduler), " + q,
                    "ms", map(runs, r -> r.bindLag().count() == 0 ? Double.NaN : r.bindLag().percentileMillis(pct)), null));
            results.add(Figure.of(id("realscaleup.pod_start_lag." + q), "real members: pod bound → Running (kwok), " + q,
                    "ms", map(runs, r -> r.runLag().count() == 0 ? Double.NaN : r.runLag().percentileMillis(pct)), null));
        }
        String countHow = "after every pod is Running (or the wait ends): the members' worker pods listed with the admin "
                + "kubeconfig against the ids the sidecar answered as created";
        results.add(Figure.of(id("realscaleup.pods"), "real members: worker pods held by the members", "count",
                map(runs, r -> (double) r.counts().pods()), countHow));
        results.add(Figure.atMost(id("realscaleup.lost"), "real members: workers answered as created without a pod", "count",
                map(runs, r -> (double) r.counts().lost()), 0, countHow));
        results.add(Figure.atMost(id("realscaleup.duplicated"), "real members: extra pods of a node id (and ids answered twice)",
                "count", map(runs, r -> (double) r.counts().duplicated()), 0, countHow));
        results.add(Figure.atMost(id("realscaleup.orphans"), "real members: worker pods of a node id the sidecar never answered",
                "count", map(runs, r -> (double) r.counts().unexpected()), 0, countHow));
        results.add(Figure.atMost(id("realscaleup.not_running"), "real members: worker pods not Running at the end", "count",
                map(runs, r -> (double) r.counts().notRunning()), 0, countHow));
        results.add(Figure.of(id("realscaleup.listed"), "real members: workers of the pool in the sidecar's GET /v1/nodes",
                "count", map(runs, r -> (double) r.counts().listed()), null));
        results.add(Figure.of(id("realscaleup.retried_workers"), "real members: workers rejected and asked again", "count",
                map(runs, r -> (double) r.out().retriedWorkers()), null));
        String cpuHow = "user + system time during the scale-up (first request until every pod Running), summed over the "
                + o.members() + " members; 2 cores = 2 s per second";
        results.add(Figure.of(id("realscaleup.cpu.wall"), "real members: wall time the CPU figures cover", "s",
                map(runs, r -> r.cpu().get("wall")), null));
        results.add(Figure.of(id("realscaleup.cpu.machine_busy"), "real members: share of the machine's CPU busy during the scale-up "
                        + "(every process, this benchmark's and others')", "ratio", map(runs, r -> r.cpu().get("machine_busy")),
                "/proc/stat: 1 - (idle + iowait) / total, first request until every pod Running"));
        results.add(Figure.of(id("realscaleup.cpu.per_pod_ms"), "real members: CPU time per worker, every process of the benchmark",
                "ms", map(runs, r -> 1000 * List.of("sidecar", "harness", "kube-apiserver", "etcd", "kube-scheduler",
                        "kube-controller-manager", "kwok").stream().mapToDouble(c -> r.cpu().get(c)).sum() / o.workers()),
                "sidecar + harness + every control-plane process of every member, divided by the workers"));
        results.add(Figure.of(id("realscaleup.pod_events_per_pod"), "real members: adds and updates a watcher of the worker pods "
                        + "receives per worker", "count", map(runs, r -> r.cpu().get("events_per_pod")),
                "the harness's informer on each member's worker pods (the sidecar watches the same pods twice per member: "
                        + "its workers and every pod for capacity)"));
        for (String c : List.of("sidecar", "harness", "kube-apiserver", "etcd", "kube-scheduler", "kube-controller-manager", "kwok")) {
            results.add(Figure.of(id("realscaleup.cpu." + c), "real members: CPU time used by " + (c.equals("harness")
                    ? "the driver and the informers (harness JVM)" : c), "s", map(runs, r -> r.cpu().get(c)), cpuHow));
        }
        String serverHow = "difference of the API servers' /metrics before and after the scale-up, over all members";
        results.add(Figure.of(id("realscaleup.server.pod_create_ms"), "real members: API server time per pod create (mean)", "ms",
                map(runs, r -> r.server().getOrDefault("pod_create_ms", Double.NaN)), serverHow
                        + "; apiserver_request_duration_seconds, POST pods"));
        results.add(Figure.of(id("realscaleup.server.admission_ms"), "real members: admission time per pod create (mean)", "ms",
                map(runs, r -> r.server().getOrDefault("admission_ms", Double.NaN)), serverHow
                        + "; apiserver_admission_step_admission_duration_seconds, CREATE (every resource), per pod create"));
        results.add(Figure.of(id("realscaleup.server.etcd_create_ms"), "real members: etcd time per pod write (mean)", "ms",
                map(runs, r -> r.server().getOrDefault("etcd_create_ms", Double.NaN)), serverHow
                        + "; etcd_request_duration_seconds, create of pods"));
        results.add(Figure.of(id("realscaleup.server.binding_ms"), "real members: API server time per binding (scheduler, mean)", "ms",
                map(runs, r -> r.server().getOrDefault("binding_ms", Double.NaN)), serverHow + "; POST pods/binding"));
        results.add(Figure.of(id("realscaleup.server.apf_wait_ms"), "real members: priority-and-fairness queue wait per request (mean, every client)",
                "ms", map(runs, r -> r.server().getOrDefault("apf_wait_ms", Double.NaN)), serverHow
                        + "; apiserver_flowcontrol_request_wait_duration_seconds"));
        results.add(Figure.of(id("realscaleup.server.apf_workload_low_seats"), "real members: concurrency of the API server's "
                        + "priority level workload-low (where a ServiceAccount's requests go)", "count",
                map(runs, r -> r.server().getOrDefault("apf_workload_low_seats", Double.NaN)),
                "apiserver_flowcontrol_nominal_limit_seats; from --max-requests-inflight 400 + --max-mutating-requests-inflight 200 (defaults)"));
        results.add(Figure.of(id("realscaleup.server.apf_rejected"), "real members: requests rejected by priority and fairness (429)",
                "count", map(runs, r -> r.server().getOrDefault("apf_rejected", Double.NaN)), serverHow));
        results.add(Figure.of(id("realscaleup.sidecar.create_call_ms"), "real members: one pod create as the sidecar's client "
                        + "sees it, sent to answered (mean)", "ms",
                map(runs, r -> r.clients().getOrDefault("sidecar.create_call_ms", Double.NaN)),
                "difference of the sidecar's ray_federation_member_api_call_duration_seconds{operation=create_pod} over the "
                        + "scale-up: the call on the wire, after its turn in the sidecar's rate limiter and call slots"));
        for (String c : List.of("kube-scheduler")) {
            String clientHow = "difference of " + c + "'s /metrics before and after the scale-up, over all members (client-go)";
            results.add(Figure.of(id("realscaleup.client." + c + ".requests"), "real members: requests " + c + " sent to its API server",
                    "count", map(runs, r -> r.clients().getOrDefault(c + ".requests", Double.NaN)), clientHow
                            + "; rest_client_requests_total"));
            results.add(Figure.of(id("realscaleup.client." + c + ".ratelimit_wait_s"), "real members: time " + c
                            + "'s requests waited in its client-side rate limiter (sum)", "s",
                    map(runs, r -> r.clients().getOrDefault(c + ".ratelimit_wait_s", Double.NaN)), clientHow
                            + "; rest_client_rate_limiter_duration_seconds_sum"));
            results.add(Figure.of(id("realscaleup.client." + c + ".ratelimit_wait_ms"), "real members: " + c
                            + "'s client-side rate-limit wait per request (mean)", "ms",
                    map(runs, r -> r.clients().getOrDefault(c + ".ratelimit_wait_ms", Double.NaN)), clientHow));
        }
        results.add(Figure.of(id("realscaleup.audit.requests"), "real members: requests of the sidecar (audit logs)", "count",
                map(runs, r -> r.audit().get("requests")), "ResponseComplete events of the sidecar's ServiceAccount, whole run"));
        results.add(Figure.of(id("realscaleup.audit.throttled"), "real members: requests of the sidecar answered 429", "count",
                map(runs, r -> r.audit().get("throttled")), null));
        results.add(Figure.of(id("realscaleup.members_start_seconds"), "real members: the control planes started (in parallel)",
                "s", map(runs, Run::membersStartS), null));
        results.add(Figure.of(id("sidecar.rss.realscaleup"), "sidecar RSS after the real-member scale-up", "MiB",
                map(runs, Run::rss), "VmRSS; JVM sized as in the Helm chart"));
        results.add(Figure.of(id("sidecar.heap.realscaleup"), "sidecar heap used after a full GC, after the real-member scale-up",
                "MiB", map(runs, Run::heap), "jcmd GC.run then GC.heap_info"));
    }

    private static List<Double> map(List<Run> runs, java.util.function.ToDoubleFunction<Run> f) {
        List<Double> out = new ArrayList<>();
        for (Run r : runs) {
            out.add(f.applyAsDouble(r));
        }
        return out;
    }
}
