package dev.rayfederation.sidecar.federation;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.antray.AntRaySync;
import dev.rayfederation.sidecar.antray.WorkerMembership;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.decisions.Decision;
import dev.rayfederation.sidecar.decisions.DecisionLog;
import dev.rayfederation.sidecar.decisions.PodEventPoster;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.CapacityBackoff;
import dev.rayfederation.sidecar.placement.Placement;
import dev.rayfederation.sidecar.placement.WorkerShapes;
import dev.rayfederation.sidecar.provision.CreateOutcome;
import dev.rayfederation.sidecar.provision.CreateRequest;
import dev.rayfederation.sidecar.provision.NodeCreator;
import dev.rayfederation.sidecar.provision.NodeTagger;
import dev.rayfederation.sidecar.provision.NodeTerminator;
import dev.rayfederation.sidecar.provision.NodeTerminator.TerminateOutcome;
import dev.rayfederation.sidecar.provision.PodDeleter;
import dev.rayfederation.sidecar.provision.PodLauncher;
import dev.rayfederation.sidecar.provision.PodSpecs;
import dev.rayfederation.sidecar.provision.Replacer;
import dev.rayfederation.sidecar.provision.UnknownFates;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.sync.MemberStartup;
import dev.rayfederation.sidecar.sync.MemberSync;
import dev.rayfederation.sidecar.sync.StatePersistence;
import dev.rayfederation.sidecar.sync.StateStore;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The sidecar's core, wired by constructor: placement, provisioning and the members' sync around one node
 * registry. It is the {@link NodeProvider} the API writes through and the {@link FederationState} views and
 * metrics read. No HTTP here.
 */
public final class Federation implements NodeProvider, FederationState {

    private final FederationConfig config;
    private final Map<String, MemberCluster> members;
    private final NodeRegistry registry;
    private final ScheduledExecutorService scheduler;
    private final CapacityBackoff backoff;
    private final NodeCreator creator;
    private final NodeTerminator terminator;
    private final NodeTagger tagger;
    private final Replacer replacer;
    private final MemberSync sync;
    private final UnknownFates unknownFates;
    private final MemberStartup startup;
    private final DecisionLog decisions;
    private final Optional<AntRaySync> antRay;
    private StatePersistence persistence;

    public Federation(FederationConfig config, Map<String, MemberCluster> members, NodeRegistry registry,
                      ScheduledExecutorService scheduler, FederationMetrics metrics, Clock clock) {
        this.config = config;
        this.members = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(members));
        this.registry = registry;
        this.scheduler = scheduler;
        FederationConfig.Replacement r = config.replacement();
        this.backoff = new CapacityBackoff(r.backoffInitial(), r.backoffMax(), clock);
        WorkerShapes shapes = new WorkerShapes(config);
        this.decisions = new DecisionLog(clock);
        decisions.listen(new PodEventPoster(this.members, registry, scheduler, metrics));
        Placement placement = new Placement(config, this.members, registry, backoff, shapes);
        PodDeleter deleter = new PodDeleter(this.members, registry, scheduler);
        PodLauncher launcher = new PodLauncher(this.members, registry, new PodSpecs(config), deleter, placement, shapes,
                backoff, config.rayCluster().name(), clock, decisions);
        this.creator = new NodeCreator(config, registry, placement, shapes, launcher, metrics, clock, decisions);
        this.antRay = AntRaySync.of(config, registry, metrics, clock);
        antRay.ifPresent(a -> metrics.observeAntRay(a::status));
        this.terminator = new NodeTerminator(registry, deleter, metrics, decisions,
                antRay.<WorkerMembership>map(a -> a).orElse(WorkerMembership.NONE));
        this.tagger = new NodeTagger(this.members, registry);
        this.replacer = new Replacer(config, registry, placement, shapes, backoff, launcher, deleter, metrics, clock, decisions);
        this.sync = new MemberSync(config, registry, shapes, backoff, deleter, metrics, clock);
        this.unknownFates = new UnknownFates(this.members, registry, metrics, clock);
        this.startup = new MemberStartup(this.members, registry, shapes);
    }

    public Federation(FederationConfig config, Map<String, MemberCluster> members, NodeRegistry registry,
                      ScheduledExecutorService scheduler, FederationMetrics metrics) {
        this(config, members, registry, scheduler, metrics, Clock.systemUTC());
    }

    /**
     * Reads the state file (if any) before {@link #start()}: terminations not done yet are resumed, and the last
     * known nodes of a member are shown (stale) if that member cannot be reached at start-up. The file is then
     * kept up to date.
     */
    public void restore(StateStore store) {
        startup.restore(store);
        persistence = new StatePersistence(store, registry);
    }

    /** Follows every member, starts them, resumes pending terminations and starts the periodic work. */
    public void start() {
        members.values().forEach(sync::follow);
        startup.start();
        terminator.resume();
        if (persistence != null) {
            persistence.start(scheduler);
        }
        replacer.start(scheduler);
        unknownFates.start(scheduler);
        antRay.ifPresent(AntRaySync::start);
    }

    /** Writes the state file now (at shutdown). */
    public void flush() {
        if (persistence != null) {
            persistence.flush();
        }
    }

    // ------------------------------------------------------------ NodeProvider

    @Override
    public CompletionStage<CreateOutcome> create(CreateRequest request) {
        return creator.create(request);
    }

    @Override
    public TerminateOutcome terminate(List<String> ids) {
        return terminator.terminate(ids);
    }

    @Override
    public NodeRecord setTags(String id, Map<String, String> tags) {
        return tagger.setTags(id, tags);
    }

    // --------------------------------------------------------- FederationState

    @Override
    public FederationConfig config() {
        return config;
    }

    @Override
    public Map<String, MemberCluster> members() {
        return members;
    }

    @Override
    public NodeRegistry.Snapshot snapshot() {
        return registry.snapshot();
    }

    @Override
    public ResourceVector usage(String virtualCluster) {
        return registry.usage(virtualCluster);
    }

    @Override
    public List<CapacityBackoff.Entry> backoffs() {
        return backoff.activeEntries();
    }

    @Override
    public List<Decision> decisions(String pool, String member, Decision.Kind kind, int limit) {
        return decisions.query(pool, member, kind, limit);
    }

    @Override
    public Map<String, AntRaySync.Status> antRay() {
        return antRay.map(AntRaySync::status).orElse(Map.of());
    }

    @Override
    public boolean ready() {
        return startup.ready();
    }

    @Override
    public List<String> notReadyReasons() {
        return startup.notReadyReasons();
    }
}
