package dev.rayfederation.sim.bench;

import dev.rayfederation.k8s.render.WorkerPodContract;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodList;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The light member API server the scale-up benchmarks run against, seen through fabric8's client (the sidecar's)
 * over TLS with its certificate verified: what the sidecar relies on behaves as a real API server's does.
 */
class LightMemberTest {

    private static final String NS = "ray-workers";
    private static final Map<String, String> OURS = WorkerPodContract.selector("bench");

    @TempDir
    Path dir;
    private LightMember member;
    private KubernetesClient client;

    @BeforeEach
    void start() {
        member = LightMember.start(new BenchMember.Spec("m1", "aws", NS, 3, 96, "384Gi", 110), dir, 20);
        client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(null,
                readString(member.writeKubeconfig(dir, member.url())), null)).build();
    }

    @AfterEach
    void stop() {
        client.close();
        member.close();
    }

    @Test
    void podsAreCreatedReadListedBySelectorsPatchedAndDeletedWithKubernetesErrors() {
        Pod created = client.pods().inNamespace(NS).resource(pod("w-1", "id-1")).create();
        assertThat(created.getMetadata().getUid()).isNotBlank();
        assertThat(created.getMetadata().getResourceVersion()).isNotBlank();
        assertThat(created.getStatus().getPhase()).isEqualTo("Pending");
        client.pods().inNamespace(NS).resource(pod("w-2", "id-2")).create();
        client.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName("other").endMetadata().build()).create();

        assertThatThrownBy(() -> client.pods().inNamespace(NS).resource(pod("w-1", "id-9")).create())
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
                    assertThat(e.getCode()).isEqualTo(409);
                    assertThat(e.getStatus().getReason()).isEqualTo("AlreadyExists");
                });
        assertThat(client.pods().inNamespace(NS).withName("w-1").get().getMetadata().getLabels())
                .containsEntry(WorkerPodContract.LABEL_NODE_ID, "id-1");
        assertThat(client.pods().inNamespace(NS).withName("absent").get()).isNull();

        assertThat(names(client.pods().inNamespace(NS).withLabels(OURS).list())).containsExactly("w-1", "w-2");
        assertThat(names(client.pods().inAnyNamespace().list())).containsExactly("w-1", "w-2", "other");
        assertThat(names(client.pods().inNamespace(NS).withoutField("status.phase", "Pending").list())).isEmpty();
        assertThat(names(client.pods().inNamespace(NS).withField("metadata.name", "w-2").list())).containsExactly("w-2");
        assertThat(client.nodes().list().getItems()).extracting(n -> n.getMetadata().getName())
                .containsExactly("m1-n0", "m1-n1", "m1-n2");

        PodList first = client.pods().inNamespace(NS).list(new ListOptionsBuilder().withLimit(2L).build());
        assertThat(names(first)).containsExactly("w-1", "w-2");
        PodList rest = client.pods().inNamespace(NS).list(new ListOptionsBuilder().withLimit(2L)
                .withContinue(first.getMetadata().getContinue()).build());
        assertThat(names(rest)).containsExactly("other");
        assertThat(rest.getMetadata().getContinue()).isNull();

        client.pods().inNamespace(NS).withName("w-1").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"metadata\":{\"annotations\":{\"a\":\"b\"}}}");
        Pod patched = client.pods().inNamespace(NS).withName("w-1").get();
        assertThat(patched.getMetadata().getAnnotations()).containsEntry("a", "b");
        assertThat(patched.getMetadata().getLabels()).containsEntry(WorkerPodContract.LABEL_NODE_ID, "id-1");
        assertThat(Long.parseLong(patched.getMetadata().getResourceVersion()))
                .isGreaterThan(Long.parseLong(created.getMetadata().getResourceVersion()));

        assertThat(client.pods().inNamespace(NS).withName("w-1").delete()).hasSize(1);
        assertThat(client.pods().inNamespace(NS).withName("w-1").delete()).isEmpty();
        assertThat(member.workerPodsByNodeId()).containsOnlyKeys("id-2");
    }

    @Test
    void informersSyncFollowChangesAndResumeAfterTheirWatchIsDropped() throws Exception {
        for (int i = 0; i < 5; i++) {
            client.pods().inNamespace(NS).resource(pod("w-" + i, "id-" + i)).create();
        }
        Set<String> seen = ConcurrentHashMap.newKeySet();
        List<String> annotated = new ArrayList<>();
        SharedIndexInformer<Pod> informer = client.pods().inNamespace(NS).withLabels(OURS).runnableInformer(0);
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Pod p) {
                seen.add(p.getMetadata().getName());
            }

            @Override
            public void onUpdate(Pod old, Pod p) {
                if (p.getMetadata().getAnnotations() != null && p.getMetadata().getAnnotations().containsKey("tags")) {
                    synchronized (annotated) {
                        annotated.add(p.getMetadata().getName());
                    }
                }
            }

            @Override
            public void onDelete(Pod p, boolean unknown) {
                seen.remove(p.getMetadata().getName());
            }
        });
        SharedIndexInformer<Node> nodes = client.nodes().runnableInformer(0);
        try {
            informer.start().toCompletableFuture().get(30, TimeUnit.SECONDS);
            nodes.start().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertThat(seen).hasSize(5);
            assertThat(nodes.getStore().list()).hasSize(3);

            client.pods().inNamespace(NS).resource(pod("w-5", "id-5")).create();
            client.pods().inNamespace(NS).withName("w-0").delete();
            client.pods().inNamespace(NS).withName("w-1").patch(PatchContext.of(PatchType.JSON_MERGE),
                    "{\"metadata\":{\"annotations\":{\"tags\":\"{}\"}}}");
            await().atMost(Duration.ofSeconds(30)).until(() -> seen.contains("w-5") && !seen.contains("w-0"));
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                synchronized (annotated) {
                    return annotated.contains("w-1");
                }
            });

            member.dropWatches();
            for (int i = 6; i < 9; i++) {  // within the history of 20 changes: the watch resumes, no relist needed
                client.pods().inNamespace(NS).resource(pod("w-" + i, "id-" + i)).create();
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> seen.containsAll(Set.of("w-6", "w-7", "w-8")));
            assertThat(informer.getStore().list()).hasSize(8);
            assertThat(member.calls().get("GET pods watch")).isGreaterThanOrEqualTo(2L);
        } finally {
            informer.close();
            nodes.close();
        }
    }

    @Test
    void aWatchFromAResourceVersionOlderThanTheHistoryEndsWith410Expired() throws Exception {
        String start = client.pods().inNamespace(NS).list().getMetadata().getResourceVersion();
        for (int i = 0; i < 25; i++) {  // more changes than the 20 the member keeps
            client.pods().inNamespace(NS).resource(pod("w-" + i, "id-" + i)).create();
        }
        CompletableFuture<WatcherException> closed = new CompletableFuture<>();
        try (Watch ignored = client.pods().inNamespace(NS).watch(new ListOptionsBuilder().withResourceVersion(start).build(),
                new Watcher<>() {
                    @Override
                    public void eventReceived(Action action, Pod resource) {
                    }

                    @Override
                    public void onClose(WatcherException cause) {
                        closed.complete(cause);
                    }
                })) {
            WatcherException e = closed.get(30, TimeUnit.SECONDS);
            assertThat(e.isHttpGone()).as("410 Gone: %s", e.getMessage()).isTrue();
        }
        assertThat(member.expiredWatches()).isPositive();

        // from a recent enough version, the watch replays what changed after it
        List<String> replayed = new ArrayList<>();
        String recent = Long.toString(Long.parseLong(client.pods().inNamespace(NS).list().getMetadata().getResourceVersion()) - 3);
        try (Watch ignored = client.pods().inNamespace(NS).watch(new ListOptionsBuilder().withResourceVersion(recent).build(),
                new Watcher<>() {
                    @Override
                    public void eventReceived(Action action, Pod resource) {
                        synchronized (replayed) {
                            replayed.add(action + " " + resource.getMetadata().getName());
                        }
                    }

                    @Override
                    public void onClose(WatcherException cause) {
                    }
                })) {
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                synchronized (replayed) {
                    return replayed.size() == 3;
                }
            });
            synchronized (replayed) {
                assertThat(replayed).containsExactly("ADDED w-22", "ADDED w-23", "ADDED w-24");
            }
        }
    }

    @Test
    void aWatchOverPlainHttpStreamsOneEventPerLineAndEndsAtItsTimeout() throws Exception {
        client.pods().inNamespace(NS).resource(pod("w-1", "id-1")).create();
        java.security.KeyStore trust = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
        trust.load(null, null);
        try (var in = java.nio.file.Files.newInputStream(member.caCert())) {
            trust.setCertificateEntry("member", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance("TLS");
        tls.init(null, tmf.getTrustManagers(), null);
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().sslContext(tls).build();
        long started = System.nanoTime();
        java.net.http.HttpResponse<java.util.stream.Stream<String>> watch = http.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(member.url() + "/api/v1/namespaces/" + NS + "/pods?watch=true&timeoutSeconds=2")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofLines());
        assertThat(watch.statusCode()).isEqualTo(200);
        List<String> lines = watch.body().toList();  // ends when the server ends the watch at its timeout
        assertThat(System.nanoTime() - started).isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(2));
        assertThat(lines).hasSize(1);
        assertThat(lines.get(0)).startsWith("{\"type\":\"ADDED\",\"object\":{").contains("\"name\":\"w-1\"");

        java.net.http.HttpResponse<String> bad = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                member.url() + "/api/v1/namespaces/" + NS + "/pods?watch=true&resourceVersion=abc")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("resourceVersion");
    }

    private static Pod pod(String name, String nodeId) {
        Map<String, String> labels = new java.util.HashMap<>(OURS);
        labels.put(WorkerPodContract.LABEL_NODE_ID, nodeId);
        return new PodBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata()
                .withNewSpec().addNewContainer().withName("ray").withImage("ray").endContainer().endSpec().build();
    }

    private static List<String> names(PodList list) {
        return list.getItems().stream().map(p -> p.getMetadata().getName()).toList();
    }

    private static String readString(Path p) {
        try {
            return java.nio.file.Files.readString(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
