package dev.rayfederation.sidecar.federation;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.antray.AntRaySync;
import dev.rayfederation.sidecar.antray.WorkerMembership;
import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.decisions.Decision;
import dev.rayfederation.sidecar.decisions.DecisionLog;
import dev.rayfederation.sidecar.decisions.PodEventPoster;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.metrics.PreflightMetrics;
import dev.rayfederation.sidecar.placement.CapacityBackoff;
import dev.rayfederation.sidecar.placement.Cordons;
import dev.rayfederation.sidecar.placement.Placement;
import dev.rayfederation.sidecar.placement.WorkerShapes;
import dev.rayfederation.sidecar.preflight.Dialer;
import dev.rayfederation.sidecar.preflight.PreflightResult;
import dev.rayfederation.sidecar.preflight.Preflights;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The sidecar's core, wired by constructor: placement, provisioning and the members' sync around one node
 * registry. It is the {@link NodeProvider} the API writes through and the {@link FederationState} views and
 * metrics read. No HTTP here.
 */
public final class Federation implements NodeProvider, FederationState {

    private static final Logger LOG = LoggerFactory.getLogger(Federation.class);

    private final CurrentConfig config;
    private final LiveMembers members;
    private final NodeRegistry registry;
    private final ScheduledExecutorService scheduler;
    private final CapacityBackoff backoff;
    private final Cordons cordons = new Cordons();
    private final NodeCreator creator;
    private final NodeTerminator terminator;
    private final NodeTagger tagger;
    private final Replacer replacer;
    private final MemberSync sync;
    private final UnknownFates unknownFates;
    private final MemberStartup startup;
    private final DecisionLog decisions;
    private final Optional<AntRaySync> antRay;
    private final Reconfiguration reconfiguration;
    private final Preflights preflights;
    private final Clock clock;
    private StatePersistence persistence;
    private ConfigWatcher watcher;

    /**
     * @param config  the configuration in force, which {@link #reconfigure} replaces
     * @param connect sets up a member added by a reload (not started yet)
     */
    public Federation(CurrentConfig config, Map<String, MemberCluster> members, NodeRegistry registry,
                      ScheduledExecutorService scheduler, FederationMetrics metrics, Clock clock,
                      Function<Cluster, MemberCluster> connect) {
        this.config = config;
        this.members = new LiveMembers(members);
        this.registry = registry;
        this.scheduler = scheduler;
        this.clock = clock;
        FederationConfig.Replacement r = config.get().replacement();
        this.backoff = new CapacityBackoff(r.backoffInitial(), r.backoffMax(), clock);
        WorkerShapes shapes = new WorkerShapes(config);
        this.decisions = new DecisionLog(clock);
        decisions.listen(new PodEventPoster(this.members, registry, scheduler, metrics));
        this.preflights = new Preflights(config, this.members, Dialer.TCP, clock);
        PreflightMetrics.observe(metrics, preflights::results);
        Placement placement = new Placement(config, this.members, registry, backoff, shapes, cordons, preflights);
        PodDeleter deleter = new PodDeleter(this.members, registry, scheduler);
        PodLauncher launcher = new PodLauncher(this.members, registry, new PodSpecs(config), deleter, placement, shapes,
                backoff, config.get().rayCluster().name(), clock, decisions);
        this.creator = new NodeCreator(config, registry, placement, shapes, launcher, metrics, clock, decisions);
        this.antRay = AntRaySync.of(config.get(), registry, metrics, clock);
        antRay.ifPresent(a -> metrics.observeAntRay(a::status));
        this.terminator = new NodeTerminator(registry, deleter, metrics, decisions,
                antRay.<WorkerMembership>map(a -> a).orElse(WorkerMembership.NONE));
        this.tagger = new NodeTagger(this.members, registry);
        this.replacer = new Replacer(config, registry, placement, shapes, backoff, launcher, deleter, metrics, clock, decisions);
        this.sync = new MemberSync(config, registry, shapes, backoff, deleter, metrics, clock);
        this.unknownFates = new UnknownFates(this.members, registry, metrics, clock);
        this.startup = new MemberStartup(this.members, registry, shapes);
        this.reconfiguration = new Reconfiguration(config, this.members, placement.lock(), registry, cordons, connect,
                sync::follow, metrics, clock);
        metrics.observeLiveConfig(() -> config.generation().number(), () -> cordonedOrRemoved(),
                () -> this.members.keySet());
    }

    /** A federation whose members are only those given (a reload that adds one is refused). */
    public Federation(FederationConfig config, Map<String, MemberCluster> members, NodeRegistry registry,
                      ScheduledExecutorService scheduler, FederationMetrics metrics, Clock clock) {
        this(new CurrentConfig(config), members, registry, scheduler, metrics, clock, c -> {
            throw new IllegalStateException("this sidecar cannot add members live");
        });
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
        cordons.restore(store.loadCordons());
        persistence = new StatePersistence(store, registry, cordons);
    }

    /** Watches {@code configFile} from {@link #start()} on and applies its changes live. */
    public ConfigWatcher watch(Path configFile) {
        watcher = new ConfigWatcher(configFile, reconfiguration);
        return watcher;
    }

    /** Puts {@code next} in force now, or refuses it whole (see {@link Reconfiguration}). */
    public Reconfiguration.Status reconfigure(FederationConfig next) {
        return reconfiguration.apply(next);
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
        scheduler.scheduleWithFixedDelay(reconfiguration::forgetRetired, 1, 1, TimeUnit.SECONDS);
        preflights.start(scheduler);
        if (watcher != null) {
            watcher.start(scheduler);
        }
    }

    /** Ends the network preflight's probes and deletes their pods (at shutdown, before the members close). */
    public void stopProbes() {
        preflights.stop();
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

    @Override
    public Cordons.Cordon cordon(String member, String by, String reason) {
        requireMember(member);
        Cordons.Cordon c = cordons.cordon(member, by, reason, clock.instant());
        LOG.info("member {} cordoned by {} since {}{}: it takes no new workers; its workers stay", member, c.by(),
                c.since(), c.reason() == null ? "" : " (" + c.reason() + ")");
        return c;
    }

    @Override
    public boolean uncordon(String member) {
        requireMember(member);
        boolean was = cordons.uncordon(member);
        if (was) {
            LOG.info("member {} uncordoned: it takes new workers again", member);
        }
        return was;
    }

    private void requireMember(String member) {
        if (config.get().cluster(member).isEmpty()) {
            throw new MemberNotFoundException("no member '" + member + "' in the configuration in force (members: "
                    + config.get().clusters().stream().map(Cluster::name).toList() + ")");
        }
    }

    private Set<String> cordonedOrRemoved() {
        Set<String> out = new HashSet<>(cordons.all().keySet());
        out.addAll(reconfiguration.removed().keySet());
        return out;
    }

    // --------------------------------------------------------- FederationState

    @Override
    public FederationConfig config() {
        return config.get();
    }

    @Override
    public Optional<Cordons.Cordon> cordon(String member) {
        return cordons.of(member);
    }

    @Override
    public Map<String, Reconfiguration.Removed> removedMembers() {
        return reconfiguration.removed();
    }

    @Override
    public Reconfiguration.Status configStatus() {
        return reconfiguration.status();
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
    public Map<String, PreflightResult> preflight() {
        return preflights.results();
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
