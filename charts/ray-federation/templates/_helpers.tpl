{{/*
Helpers of the ray-federation chart.

Public helpers (meant to be included, also by people who embed this chart):
  ray-federation.sidecarContainer      the sidecar container (one list item)
  ray-federation.volumes               the volumes that container and the autoscaler need (list items)
  ray-federation.autoscalerVolumeMounts  mounts for whichever container runs Ray's monitor (list items)
  ray-federation.autoscalerEnv         env for that container (list items)
  ray-federation.pluginInitContainer   init container copying the plugin from the sidecar image (list item; may be empty)
  ray-federation.monitorCommand        command + args running Ray's monitor with our config (mode kuberay)
  ray-federation.headCommand           command + args of the ray-head container (mode rayStart)
  ray-federation.generateConfig        the shell command that generates autoscaling.yaml from the sidecar
  ray-federation.kubeRayHeadValues     the `head:` block for KubeRay's ray-cluster chart
  ray-federation.mode                  the autoscaler mode in effect (autoscaler.mode with auto resolved)
  ray-federation.nativeSidecar         "true" when the sidecar runs as a native sidecar (an init container)
*/}}

{{/* Prefix of every object name: fullnameOverride or the release name. */}}
{{- define "ray-federation.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "ray-federation.configMapName" -}}
{{- printf "%s-config" (include "ray-federation.fullname" .) -}}
{{- end -}}

{{- define "ray-federation.serviceName" -}}
{{- printf "%s-management" (include "ray-federation.fullname" .) -}}
{{- end -}}

{{/* The sidecar's identity in the home cluster (bound by ray-federation-member); no pod runs as it. */}}
{{- define "ray-federation.serviceAccountName" -}}
{{- default (include "ray-federation.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* The Secret holding that ServiceAccount's token (made by ray-federation-member with tokenSecret.create). */}}
{{- define "ray-federation.serviceAccountTokenSecret" -}}
{{- default (printf "%s-token" (include "ray-federation.serviceAccountName" .)) .Values.serviceAccount.tokenSecret -}}
{{- end -}}

{{/* The head pod's ServiceAccount: KubeRay binds its autoscaler Role to it in mode kuberay. */}}
{{- define "ray-federation.headServiceAccountName" -}}
{{- default (printf "%s-head" (include "ray-federation.fullname" .)) .Values.serviceAccount.headName -}}
{{- end -}}

{{/* "true" when some member is reached with in-cluster credentials (no kubeconfig Secret), else empty. */}}
{{- define "ray-federation.hasInClusterMember" -}}
{{- range $m := .Values.members -}}
{{- if not (default dict $m.kubeconfig).secretName -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/*
"true" when helm renders against a cluster (install, upgrade, --dry-run=server), else empty (helm template,
lint, client dry-runs): only then do lookup and .Capabilities describe the cluster the objects go to. Listing
Services in the release namespace needs no more rights than installing the chart does.
*/}}
{{- define "ray-federation.clusterVisible" -}}
{{- if lookup "v1" "Service" .Release.Namespace "" -}}true{{- end -}}
{{- end -}}

{{/*
Whether KubeRay's RayCluster has spec.autoscalerOptions.command/args (KubeRay 1.7.0+), which mode kuberay
needs: older CRDs prune them silently. "yes", "no", or empty when unknown. From kubeRay.version when set,
else from the RayCluster CRD in the cluster (helm install), else unknown (helm template).
*/}}
{{- define "ray-federation.autoscalerCommandSupported" -}}
{{- $version := toString .Values.kubeRay.version | trimPrefix "v" -}}
{{- if $version -}}
{{- ternary "yes" "no" (semverCompare ">=1.7.0-0" $version) -}}
{{- else -}}
{{- $crd := lookup "apiextensions.k8s.io/v1" "CustomResourceDefinition" "" "rayclusters.ray.io" -}}
{{- if $crd -}}
{{- $found := "no" -}}
{{- range $v := (dig "spec" "versions" list $crd) -}}
{{- if and (eq (toString $v.name) "v1") (dig "schema" "openAPIV3Schema" "properties" "spec" "properties" "autoscalerOptions" "properties" "command" "" $v) -}}
{{- $found = "yes" -}}
{{- end -}}
{{- end -}}
{{- $found -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Where ray-federation.autoscalerCommandSupported got its answer, for messages. */}}
{{- define "ray-federation.kubeRayVersionSource" -}}
{{- if .Values.kubeRay.version -}}
{{- printf "kubeRay.version is %s" (toString .Values.kubeRay.version) -}}
{{- else -}}
{{- print "the RayCluster CRD in this cluster (rayclusters.ray.io) has no spec.autoscalerOptions.command: KubeRay older than 1.7.0" -}}
{{- end -}}
{{- end -}}

{{/* The autoscaler mode in effect: autoscaler.mode, with auto resolved (rayStart where KubeRay < 1.7.0). */}}
{{- define "ray-federation.mode" -}}
{{- if ne (toString .Values.autoscaler.mode) "auto" -}}
{{- .Values.autoscaler.mode -}}
{{- else -}}
{{- ternary "rayStart" "kuberay" (eq (include "ray-federation.autoscalerCommandSupported" .) "no") -}}
{{- end -}}
{{- end -}}

{{/*
"true" when the sidecar is a native sidecar (an init container with restartPolicy Always, Kubernetes 1.29+):
nativeSidecar true, or auto against a cluster of 1.29 or newer. helm template's Kubernetes version is helm's
own guess, not the cluster's, so auto renders a regular container there.
*/}}
{{- define "ray-federation.nativeSidecar" -}}
{{- $native := .Values.nativeSidecar -}}
{{- if eq (toString $native) "true" -}}true
{{- else if and (eq (toString $native) "auto") (include "ray-federation.clusterVisible" .) (semverCompare ">=1.29.0-0" .Capabilities.KubeVersion.Version) -}}true
{{- end -}}
{{- end -}}

{{/*
"true" when an optional kind of the Prometheus Operator (argument: list . "ServiceMonitor") may be rendered:
the cluster serves it, or helm cannot see the cluster (helm template renders what the values ask for).
*/}}
{{- define "ray-federation.servesKind" -}}
{{- $ := index . 0 -}}
{{- if or ($.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" (index . 1))) (not (include "ray-federation.clusterVisible" $)) -}}true{{- end -}}
{{- end -}}

{{/* metadata.name of the KubeRay RayCluster holding the head pod. */}}
{{- define "ray-federation.kubeRayName" -}}
{{- default .Values.rayCluster.name .Values.rayCluster.kubeRayName -}}
{{- end -}}

{{- define "ray-federation.labels" -}}
app.kubernetes.io/name: ray-federation
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: federation-sidecar
app.kubernetes.io/part-of: ray-federation
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
ray-federation.io/ray-cluster: {{ .Values.rayCluster.name | quote }}
{{- end -}}

{{- define "ray-federation.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Fixed paths inside the head pod. */}}
{{- define "ray-federation.configDir" -}}/etc/ray-federation{{- end -}}
{{- define "ray-federation.configFile" -}}/etc/ray-federation/federation.yaml{{- end -}}
{{- define "ray-federation.kubeconfigDir" -}}/etc/ray-federation/kubeconfigs{{- end -}}
{{- define "ray-federation.tokenDir" -}}/var/run/secrets/ray-federation{{- end -}}
{{- define "ray-federation.tokenFile" -}}/var/run/secrets/ray-federation/token{{- end -}}
{{- define "ray-federation.pluginDir" -}}/opt/ray-federation/python{{- end -}}
{{- define "ray-federation.autoscalingFile" -}}
{{- printf "%s/autoscaling.yaml" (trimSuffix "/" .Values.autoscaler.configMountPath) -}}
{{- end -}}

{{/* "true" when the host is a loopback address, else empty. */}}
{{- define "ray-federation.isLoopback" -}}
{{- $h := toString . | trimPrefix "[" | trimSuffix "]" -}}
{{- if or (eq $h "localhost") (eq $h "::1") (hasPrefix "127." $h) -}}true{{- end -}}
{{- end -}}

{{/* "true" when the node-provider API requires a bearer token (api.token.enabled), else empty. */}}
{{- define "ray-federation.tokenEnabled" -}}
{{- if .Values.api.token.enabled -}}true{{- end -}}
{{- end -}}

{{/* The Secret holding the API token: api.token.existingSecret, or the one the chart generates. */}}
{{- define "ray-federation.tokenSecretName" -}}
{{- default (printf "%s-api-token" (include "ray-federation.fullname" .)) .Values.api.token.existingSecret -}}
{{- end -}}

{{/* Labels selecting the KubeRay head pod: service.selector, or ray.io/cluster=<kubeRayName>, ray.io/node-type=head. */}}
{{- define "ray-federation.headSelector" -}}
{{- if .Values.service.selector -}}
{{- toYaml .Values.service.selector -}}
{{- else -}}
ray.io/cluster: {{ include "ray-federation.kubeRayName" . | quote }}
ray.io/node-type: head
{{- end -}}
{{- end -}}

{{/*
Problems with a map of resource amounts (Kubernetes quantities or plain numbers), one per line, each naming
its value. Argument: (list path map).
*/}}
{{- define "ray-federation.quantityProblems" -}}
{{- $path := index . 0 -}}
{{- range $k, $v := index . 1 -}}
{{- $s := toString $v -}}
{{- if not (regexMatch "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$" $s) -}}
{{- printf "%s.%s: %q is not a number or Kubernetes quantity (for example 2, 500m, 16Gi)\n" $path $k $s -}}
{{- else if and (hasPrefix "-" $s) (regexMatch "[1-9]" $s) -}}
{{- printf "%s.%s: %s is negative; resource amounts must be zero or more\n" $path $k $s -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* host:port, IPv6 hosts in brackets. Argument: (list host port). */}}
{{- define "ray-federation.hostPort" -}}
{{- $host := toString (index . 0) -}}
{{- if and (contains ":" $host) (not (hasPrefix "[" $host)) -}}
{{- printf "[%s]:%v" $host (index . 1) -}}
{{- else -}}
{{- printf "%s:%v" $host (index . 1) -}}
{{- end -}}
{{- end -}}

{{/* The URL the plugin calls: the API listens in the same pod. */}}
{{- define "ray-federation.sidecarUrl" -}}
{{- $host := toString .Values.api.host -}}
{{- if or (include "ray-federation.isLoopback" $host) (eq $host "0.0.0.0") (eq $host "::") (eq $host "[::]") -}}
{{- printf "http://127.0.0.1:%v" .Values.api.port -}}
{{- else -}}
{{- printf "http://%s" (include "ray-federation.hostPort" (list $host .Values.api.port)) -}}
{{- end -}}
{{- end -}}

{{- define "ray-federation.headAddress" -}}
{{- if .Values.rayCluster.headAddress -}}
{{- .Values.rayCluster.headAddress -}}
{{- else -}}
{{- printf "%s-head-svc.%s.svc.cluster.local:%v" (include "ray-federation.kubeRayName" .) .Release.Namespace .Values.autoscaler.gcsPort -}}
{{- end -}}
{{- end -}}

{{/*
Checks the values that the templates depend on and fails with every problem at once, each naming its
value. The sidecar validates federation.yaml in full at start-up; these checks catch what would
otherwise render a broken pod or autoscaling config.
*/}}
{{- define "ray-federation.validate" -}}
{{- $errors := list -}}
{{- $dnsLabel := "^[a-z]([-a-z0-9]*[a-z0-9])?$" -}}
{{- $name := toString .Values.rayCluster.name -}}
{{- if not $name -}}
{{- $errors = append $errors "rayCluster.name: is required" -}}
{{- else if or (not (regexMatch $dnsLabel $name)) (gt (len $name) 40) -}}
{{- $errors = append $errors (printf "rayCluster.name: %q must be a DNS label of at most 40 characters starting with a letter" $name) -}}
{{- end -}}
{{- if and .Values.rayCluster.headAddress (not (regexMatch "^(\\[[0-9a-fA-F:.]+\\]|[^:\\[\\]]+):[0-9]+$" (toString .Values.rayCluster.headAddress))) -}}
{{- $errors = append $errors (printf "rayCluster.headAddress: %q must be host:port" (toString .Values.rayCluster.headAddress)) -}}
{{- end -}}
{{- if and (not (include "ray-federation.isLoopback" .Values.api.host)) (not .Values.api.token.enabled) -}}
{{- $errors = append $errors (printf "api.token.enabled: must be true when api.host (%s) is not a loopback address: the node-provider API would be open to the network" .Values.api.host) -}}
{{- end -}}
{{- if and .Values.api.token.existingSecret (not .Values.api.token.enabled) -}}
{{- $errors = append $errors (printf "api.token.existingSecret: %q is set but api.token.enabled is false (the token would not be used)" (toString .Values.api.token.existingSecret)) -}}
{{- end -}}
{{- if and .Values.api.token.enabled (not .Values.api.token.key) -}}
{{- $errors = append $errors "api.token.key: is required when api.token.enabled is true" -}}
{{- end -}}
{{- if eq (int .Values.api.port) (int .Values.management.port) -}}
{{- $errors = append $errors (printf "management.port: %v is also api.port; they must differ" .Values.management.port) -}}
{{- end -}}
{{- if not .Values.members -}}
{{- $errors = append $errors "members: at least one member cluster is required" -}}
{{- end -}}
{{- $seen := dict -}}
{{- range $i, $m := .Values.members -}}
{{- $mname := toString (default "" $m.name) -}}
{{- if not $mname -}}
{{- $errors = append $errors (printf "members[%d].name: is required" $i) -}}
{{- else if or (not (regexMatch $dnsLabel $mname)) (gt (len $mname) 40) -}}
{{- $errors = append $errors (printf "members[%d].name: %q must match [a-z][-a-z0-9]* (at most 40 characters)" $i $mname) -}}
{{- else if hasKey $seen $mname -}}
{{- $errors = append $errors (printf "members[%d].name: %q is already used by members[%v]" $i $mname (get $seen $mname)) -}}
{{- else -}}
{{- $_ := set $seen $mname $i -}}
{{- end -}}
{{- if not $m.cloud -}}
{{- $errors = append $errors (printf "members[%d].cloud: is required (it groups members under one circuit breaker)" $i) -}}
{{- end -}}
{{- $kc := default dict $m.kubeconfig -}}
{{- if and $kc.context (not $kc.secretName) -}}
{{- $errors = append $errors (printf "members[%d].kubeconfig.context: needs kubeconfig.secretName (in-cluster credentials have no contexts)" $i) -}}
{{- end -}}
{{- if and (eq (toString (default "auto" $m.capacity)) "static") (not $m.staticCapacity) -}}
{{- $errors = append $errors (printf "members[%d].staticCapacity: is required when capacity is static" $i) -}}
{{- end -}}
{{- range $problem := splitList "\n" (include "ray-federation.quantityProblems" (list (printf "members[%d].staticCapacity" $i) (default dict $m.staticCapacity))) -}}
{{- if $problem }}{{ $errors = append $errors $problem }}{{ end -}}
{{- end -}}
{{- end -}}
{{- $memberNames := keys $seen | sortAlpha -}}
{{- $vcs := dict -}}
{{- range $i, $vc := .Values.virtualClusters -}}
{{- $vcname := toString (default "" $vc.name) -}}
{{- if and $vcname (hasKey $vcs $vcname) -}}
{{- $errors = append $errors (printf "virtualClusters[%d].name: %q is already used by virtualClusters[%v]" $i $vcname (get $vcs $vcname)) -}}
{{- else if $vcname -}}
{{- $_ := set $vcs $vcname $i -}}
{{- end -}}
{{- range $problem := splitList "\n" (include "ray-federation.quantityProblems" (list (printf "virtualClusters[%d].quota" $i) (default dict $vc.quota))) -}}
{{- if $problem }}{{ $errors = append $errors $problem }}{{ end -}}
{{- end -}}
{{- end -}}
{{- $poolNames := dict -}}
{{- if not .Values.pools -}}
{{- $errors = append $errors "pools: at least one pool is required" -}}
{{- end -}}
{{- $types := dict -}}
{{- range $i, $p := .Values.pools -}}
{{- if not $p.name -}}
{{- $errors = append $errors (printf "pools[%d].name: is required" $i) -}}
{{- else if hasKey $poolNames (toString $p.name) -}}
{{- $errors = append $errors (printf "pools[%d].name: %q is already used by pools[%v]" $i (toString $p.name) (get $poolNames (toString $p.name))) -}}
{{- else -}}
{{- $_ := set $poolNames (toString $p.name) $i -}}
{{- end -}}
{{- $type := toString (default $p.name $p.rayNodeType) -}}
{{- if $type -}}
{{- if hasKey $types $type -}}
{{- $errors = append $errors (printf "pools[%d].rayNodeType: %q is already used by pools[%v]" $i $type (get $types $type)) -}}
{{- else if eq $type (toString $.Values.autoscaler.head.nodeType) -}}
{{- $errors = append $errors (printf "pools[%d].rayNodeType: %q is the head's node type (autoscaler.head.nodeType)" $i $type) -}}
{{- else -}}
{{- $_ := set $types $type $i -}}
{{- end -}}
{{- end -}}
{{- if not $p.virtualCluster -}}
{{- $errors = append $errors (printf "pools[%d].virtualCluster: is required" $i) -}}
{{- else if not (hasKey $vcs (toString $p.virtualCluster)) -}}
{{- $errors = append $errors (printf "pools[%d].virtualCluster: %q is not one of virtualClusters[].name (%s)" $i (toString $p.virtualCluster) (join ", " (keys $vcs | sortAlpha))) -}}
{{- end -}}
{{- range $j, $c := $p.clusters -}}
{{- if not (hasKey $seen (toString $c)) -}}
{{- $errors = append $errors (printf "pools[%d].clusters[%d]: %q is not one of members[].name (%s)" $i $j (toString $c) (join ", " $memberNames)) -}}
{{- end -}}
{{- end -}}
{{- range $c := keys (default dict $p.overrides) | sortAlpha -}}
{{- if not (hasKey $seen $c) -}}
{{- $errors = append $errors (printf "pools[%d].overrides.%s: %q is not one of members[].name (%s)" $i $c $c (join ", " $memberNames)) -}}
{{- end -}}
{{- end -}}
{{- if not $p.resources -}}
{{- $errors = append $errors (printf "pools[%d].resources: is required (what one worker asks for)" $i) -}}
{{- else -}}
{{- range $problem := splitList "\n" (include "ray-federation.quantityProblems" (list (printf "pools[%d].resources" $i) $p.resources)) -}}
{{- if $problem }}{{ $errors = append $errors $problem }}{{ end -}}
{{- end -}}
{{- end -}}
{{- $min := int (default 0 $p.minWorkers) -}}
{{- if hasKey $p "maxWorkers" -}}
{{- if lt (int $p.maxWorkers) $min -}}
{{- $errors = append $errors (printf "pools[%d].maxWorkers: %v is less than minWorkers (%v)" $i $p.maxWorkers $min) -}}
{{- end -}}
{{- else if gt $min 100 -}}
{{- $errors = append $errors (printf "pools[%d].maxWorkers: defaults to 100, less than minWorkers (%v): set it" $i $min) -}}
{{- end -}}
{{- end -}}
{{- if and (eq (toString .Values.autoscaler.version) "v2") (ne (toString .Values.autoscaler.head.nodeType) "headgroup") -}}
{{- $errors = append $errors (printf "autoscaler.head.nodeType: %q must be \"headgroup\" with autoscaler.version v2: KubeRay sets the head raylet's RAY_NODE_TYPE_NAME to the head pod's ray.io/group label (headgroup), and autoscaler v2 matches the head node by it" (toString .Values.autoscaler.head.nodeType)) -}}
{{- end -}}
{{- if and (eq (toString .Values.autoscaler.mode) "kuberay") (eq (include "ray-federation.autoscalerCommandSupported" .) "no") -}}
{{- $errors = append $errors (printf "autoscaler.mode: kuberay needs KubeRay 1.7.0 or newer, whose RayCluster has spec.autoscalerOptions.command/args (older ones drop them, and KubeRay's own autoscaler would run without the plugin); %s. Use autoscaler.mode rayStart (or auto), or upgrade KubeRay" (include "ray-federation.kubeRayVersionSource" .)) -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nray-federation: invalid values:\n  - %s\n" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}

{{/* A float64 printed as YAML: whole numbers without a fraction, others in shortest form. */}}
{{- define "ray-federation.number" -}}
{{- $f := float64 . -}}
{{- if and (eq (floor $f) $f) (lt $f 1e15) (gt $f -1e15) -}}
{{- printf "%.0f" $f -}}
{{- else -}}
{{- printf "%g" $f -}}
{{- end -}}
{{- end -}}

{{/* federation.yaml: the sidecar's configuration file. */}}
{{- define "ray-federation.federationYaml" -}}
rayCluster:
  name: {{ .Values.rayCluster.name | quote }}
  headAddress: {{ include "ray-federation.headAddress" . | quote }}
api:
  listen: {{ include "ray-federation.hostPort" (list .Values.api.host .Values.api.port) | quote }}
  {{- if include "ray-federation.tokenEnabled" . }}
  tokenFile: {{ include "ray-federation.tokenFile" . | quote }}
  {{- end }}
management:
  listen: {{ include "ray-federation.hostPort" (list .Values.management.host .Values.management.port) | quote }}
clusters:
{{- range $m := .Values.members }}
  - name: {{ $m.name | quote }}
    cloud: {{ $m.cloud | quote }}
    {{- with $m.region }}
    region: {{ . | quote }}
    {{- end }}
    {{- with $m.zone }}
    zone: {{ . | quote }}
    {{- end }}
    {{- $kc := default dict $m.kubeconfig }}
    {{- if $kc.secretName }}
    kubeconfig: {{ printf "%s/%s/%s" (include "ray-federation.kubeconfigDir" $) $m.name (default "kubeconfig" $kc.key) | quote }}
    {{- with $kc.context }}
    context: {{ . | quote }}
    {{- end }}
    {{- end }}
    namespace: {{ default "ray-workers" $m.namespace | quote }}
    {{- if hasKey $m "priority" }}
    priority: {{ $m.priority }}
    {{- end }}
    {{- with $m.price }}
    price: {{ toJson . }}
    {{- end }}
    {{- if hasKey $m "elastic" }}
    elastic: {{ $m.elastic }}
    {{- end }}
    {{- with $m.capacity }}
    capacity: {{ . | quote }}
    {{- end }}
    {{- with $m.staticCapacity }}
    staticCapacity: {{ toJson . }}
    {{- end }}
    {{- with $m.gpuResourceName }}
    gpuResourceName: {{ . | quote }}
    {{- end }}
{{- end }}
{{- if .Values.virtualClusters }}
virtualClusters:
{{- range $vc := .Values.virtualClusters }}
  - name: {{ $vc.name | quote }}
    {{- with $vc.quota }}
    quota: {{ toJson . }}
    {{- end }}
{{- end }}
{{- end }}
pools:
{{- range $p := .Values.pools }}
  - name: {{ $p.name | quote }}
    {{- with omit $p "name" }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
{{- $timing := dict -}}
{{- range $k, $v := (default dict .Values.timing) -}}
{{- if $v -}}{{- $_ := set $timing $k $v -}}{{- end -}}
{{- end -}}
{{- if $timing }}
timing:
{{- range $k := keys $timing | sortAlpha }}
  {{ $k }}: {{ get $timing $k | quote }}
{{- end }}
{{- end }}
{{- with .Values.preflight }}
preflight:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A string quoted for a POSIX shell: 'it'\''s'. */}}
{{- define "ray-federation.shellQuote" -}}
{{- printf "'%s'" (replace "'" "'\\''" (toString .)) -}}
{{- end -}}

{{/*
The shell command that writes autoscaling.yaml, Ray's autoscaling config with the external provider:
the plugin's generator (python -m ray_federation.config) asks the sidecar in the same pod for the node
types (GET /v1/node-types), waiting for it to be ready. The chart does not compute any Ray resources
itself: the sidecar derives them from the pools with the same mapping that builds each worker's
`ray start` flags, so what the autoscaler plans with is what the workers register. The head is listed
by the plugin itself from ${RAY_FEDERATION_HEAD_IP} and ${RAY_FEDERATION_HEAD_POD_NAME} (expanded by
the plugin at run time; set by ray-federation.autoscalerEnv), so that autoscaler v1 finds the head's
load by its IP and v2 matches it to the head raylet's RAY_CLOUD_INSTANCE_ID (KubeRay: the pod's name).
*/}}
{{- define "ray-federation.generateConfig" -}}
{{- $q := "ray-federation.shellQuote" -}}
python -m ray_federation.config
{{- printf " --sidecar-url %s" (include $q (include "ray-federation.sidecarUrl" .)) -}}
{{- printf " --wait-s %v" (int .Values.autoscaler.configWaitSeconds) -}}
{{- printf " --cluster-name %s" (include $q .Values.rayCluster.name) -}}
{{- if .Values.autoscaler.maxWorkers }}{{ printf " --max-workers %v" (int .Values.autoscaler.maxWorkers) }}{{ end -}}
{{- printf " --idle-timeout-minutes %s" (include "ray-federation.number" (float64 .Values.autoscaler.idleTimeoutMinutes)) -}}
{{- printf " --upscaling-speed %s" (include "ray-federation.number" (float64 .Values.autoscaler.upscalingSpeed)) -}}
{{- printf " --timeout-s %s" (include "ray-federation.number" (float64 .Values.autoscaler.providerTimeoutSeconds)) -}}
{{- if include "ray-federation.tokenEnabled" . }}{{ printf " --token-file %s" (include $q (include "ray-federation.tokenFile" .)) }}{{ end -}}
{{- printf " --head-node-type %s" (include $q .Values.autoscaler.head.nodeType) -}}
{{- printf " --head-resources %s" (include $q (toJson (default dict .Values.autoscaler.head.resources))) -}}
{{- printf " --head-ip %s --head-node-id %s" (include $q "${RAY_FEDERATION_HEAD_IP}") (include $q "${RAY_FEDERATION_HEAD_POD_NAME}") -}}
{{- printf " -o %s" (include $q (include "ray-federation.autoscalingFile" .)) -}}
{{- end -}}

{{/*
The sidecar container, one list item: for initContainers when ray-federation.nativeSidecar (then with
restartPolicy Always), else for containers.
*/}}
{{- define "ray-federation.sidecarContainer" -}}
- name: ray-federation
  image: {{ include "ray-federation.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if include "ray-federation.nativeSidecar" . }}
  # a native sidecar: the kubelet restarts it whenever it exits, whatever the pod's restartPolicy
  restartPolicy: Always
  {{- end }}
  args:
    - --config
    - {{ include "ray-federation.configFile" . }}
  env:
    {{- with .Values.jvmOptions }}
    - name: JAVA_TOOL_OPTIONS
      value: {{ . | quote }}
    {{- end }}
    {{- if eq (default "text" .Values.logging.format) "json" }}
    - name: RAY_FEDERATION_LOG_FORMAT
      value: json
    {{- end }}
    {{- with .Values.logging.level }}
    - name: RAY_FEDERATION_LOG_LEVEL
      value: {{ . | quote }}
    {{- end }}
    - name: RAY_FEDERATION_POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    {{- with .Values.stateFile }}
    - name: RAY_FEDERATION_STATE_FILE
      value: {{ . | quote }}
    {{- end }}
    {{- with .Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: management
      containerPort: {{ .Values.management.port }}
      protocol: TCP
    {{- if not (include "ray-federation.isLoopback" .Values.api.host) }}
    - name: api
      containerPort: {{ .Values.api.port }}
      protocol: TCP
    {{- end }}
  {{- if .Values.probes.startup.enabled }}
  startupProbe:
    httpGet:
      path: /healthz
      port: management
    periodSeconds: {{ .Values.probes.startup.periodSeconds }}
    failureThreshold: {{ .Values.probes.startup.failureThreshold }}
  {{- end }}
  {{- if .Values.probes.liveness.enabled }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: management
    periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
    timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
    failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
  {{- end }}
  {{- if .Values.probes.readiness.enabled }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: management
    periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
    timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
    failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
  {{- end }}
  {{- with .Values.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: ray-federation-config
      mountPath: {{ include "ray-federation.configDir" . }}
      readOnly: true
    {{- if include "ray-federation.tokenEnabled" . }}
    - name: ray-federation-token
      mountPath: {{ include "ray-federation.tokenDir" . }}
      readOnly: true
    {{- end }}
    - name: ray-federation-tmp
      mountPath: /tmp
    {{- if include "ray-federation.hasInClusterMember" . }}
    # the sidecar's own ServiceAccount token, where in-cluster clients look for it (the head pod's own
    # ServiceAccount token is mounted nowhere)
    - name: ray-federation-identity
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    {{- end }}
{{- end -}}

{{/*
The pod volumes, list items. ray-federation-config projects federation.yaml and every member's
kubeconfig Secret into one directory: kubeconfigs/<member>/<key>.
*/}}
{{- define "ray-federation.volumes" -}}
- name: ray-federation-config
  projected:
    sources:
      - configMap:
          name: {{ include "ray-federation.configMapName" . }}
          items:
            - key: federation.yaml
              path: federation.yaml
      {{- range $m := .Values.members }}
      {{- $kc := default dict $m.kubeconfig }}
      {{- if $kc.secretName }}
      - secret:
          name: {{ $kc.secretName }}
          items:
            - key: {{ default "kubeconfig" $kc.key | quote }}
              path: {{ printf "kubeconfigs/%s/%s" $m.name (default "kubeconfig" $kc.key) | quote }}
      {{- end }}
      {{- end }}
{{- if include "ray-federation.tokenEnabled" . }}
- name: ray-federation-token
  secret:
    secretName: {{ include "ray-federation.tokenSecretName" . }}
    items:
      - key: {{ .Values.api.token.key | quote }}
        path: token
{{- end }}
- name: ray-federation-tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if include "ray-federation.hasInClusterMember" . }}
# the sidecar's ServiceAccount token (Secret made by ray-federation-member with tokenSecret.create); optional:
# without it the pod still starts, and the in-cluster members report the sidecar unauthorized
- name: ray-federation-identity
  projected:
    sources:
      - secret:
          name: {{ include "ray-federation.serviceAccountTokenSecret" . }}
          optional: true
          items:
            - key: token
              path: token
            - key: ca.crt
              path: ca.crt
            - key: namespace
              path: namespace
{{- end }}
# autoscaling.yaml, written at container start by ray-federation.generateConfig
- name: ray-federation-autoscaling
  emptyDir:
    sizeLimit: 1Mi
{{- if eq .Values.autoscaler.plugin.source "sidecarImage" }}
- name: ray-federation-plugin
  emptyDir:
    sizeLimit: 16Mi
{{- end }}
{{- end -}}

{{/* Mounts for the container that runs Ray's monitor (autoscaler container or ray-head). */}}
{{- define "ray-federation.autoscalerVolumeMounts" -}}
- name: ray-federation-autoscaling
  mountPath: {{ .Values.autoscaler.configMountPath }}
{{- if include "ray-federation.tokenEnabled" . }}
- name: ray-federation-token
  mountPath: {{ include "ray-federation.tokenDir" . }}
  readOnly: true
{{- end }}
{{- if eq .Values.autoscaler.plugin.source "sidecarImage" }}
- name: ray-federation-plugin
  mountPath: {{ include "ray-federation.pluginDir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{/*
Env for the container that runs Ray's monitor: the head pod's IP and name, which the provider block's
head_ip and head_node_id refer to, and PYTHONPATH when the plugin is copied from the sidecar image.
*/}}
{{- define "ray-federation.autoscalerEnv" -}}
- name: RAY_FEDERATION_HEAD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: RAY_FEDERATION_HEAD_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- if eq .Values.autoscaler.plugin.source "sidecarImage" }}
- name: PYTHONPATH
  value: {{ include "ray-federation.pluginDir" . }}
{{- end }}
{{- end -}}

{{/* Init container that copies the plugin out of the sidecar image; empty unless plugin.source is sidecarImage. */}}
{{- define "ray-federation.pluginInitContainer" -}}
{{- if eq .Values.autoscaler.plugin.source "sidecarImage" -}}
- name: ray-federation-plugin
  image: {{ include "ray-federation.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["cp", "-R", "{{ trimSuffix "/" .Values.autoscaler.plugin.sidecarImagePath }}/.", "/ray-federation-plugin/"]
  resources:
    requests:
      cpu: 10m
      memory: 16Mi
    limits:
      memory: 64Mi
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    # not at the source path: the empty volume would hide the files to copy
    - name: ray-federation-plugin
      mountPath: /ray-federation-plugin
{{- end }}
{{- end -}}

{{/*
Command and args for KubeRay's autoscaler container (mode kuberay): generate the autoscaling config
from the sidecar, wait for the head's GCS, then run Ray's own monitor (v1 or v2) with that config
instead of `ray kuberay-autoscaler`.
*/}}
{{- define "ray-federation.monitorCommand" -}}
{{- $module := ternary "ray.autoscaler.v2.monitor" "ray.autoscaler._private.monitor" (eq .Values.autoscaler.version "v2") -}}
{{- $gcs := printf "127.0.0.1:%v" .Values.autoscaler.gcsPort -}}
command: ["/bin/bash", "-c", "--"]
args:
  - >-
    {{ include "ray-federation.generateConfig" . }} || exit 1;
    until ray health-check --address {{ $gcs }} >/dev/null 2>&1; do echo "ray-federation: waiting for the Ray GCS at {{ $gcs }}"; sleep 2; done;
    mkdir -p /tmp/ray/session_latest/logs;
    exec python -m {{ $module }} --gcs-address={{ $gcs }} --autoscaling-config={{ include "ray-federation.autoscalingFile" . }} --logs-dir=/tmp/ray/session_latest/logs
{{- end -}}

{{/*
Command and args of the ray-head container (mode rayStart): generate the autoscaling config from the
sidecar, then run the `ray start --head ... --autoscaling-config=...` line KubeRay generated. Needs the
RayCluster annotation ray.io/overwrite-container-cmd: "true" (KubeRay 1.1+), with which KubeRay keeps
this command and hands its own line over in KUBERAY_GEN_RAY_START_CMD.
Autoscaler v2 is switched on here, in the shell that runs `ray start`, not in the container's env: KubeRay
1.5+ refuses a RayCluster whose ray-head env sets RAY_enable_autoscaler_v2=1 while enableInTreeAutoscaling
is false, although Ray only reads the variable from the environment of `ray start`, which hands it to the
GCS and to the monitor it launches (docs/kuberay.md).
*/}}
{{- define "ray-federation.headCommand" -}}
command: ["/bin/bash", "-lc", "--"]
args:
  - >-
    ulimit -n 65536;
    {{- if eq .Values.autoscaler.version "v2" }}
    export RAY_enable_autoscaler_v2=1;
    {{- end }}
    {{ include "ray-federation.generateConfig" . }} || exit 1;
    eval "$KUBERAY_GEN_RAY_START_CMD"
{{- end -}}

{{/* autoscalerOptions for the RayCluster (mode kuberay). */}}
{{- define "ray-federation.autoscalerOptions" -}}
version: {{ .Values.autoscaler.version }}
{{ include "ray-federation.monitorCommand" . }}
{{- with include "ray-federation.autoscalerEnv" . }}
env:
{{- . | nindent 2 }}
{{- end }}
volumeMounts:
{{- include "ray-federation.autoscalerVolumeMounts" . | nindent 2 }}
{{- with .Values.autoscaler.resources }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.autoscaler.securityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The `head:` block of values for KubeRay's ray-cluster chart (printed by NOTES.txt); in mode rayStart
also the RayCluster's `annotations:`.
*/}}
{{- define "ray-federation.kubeRayHeadValues" -}}
{{- $native := include "ray-federation.nativeSidecar" . -}}
head:
  serviceAccountName: {{ include "ray-federation.headServiceAccountName" . }}
  {{- if eq (include "ray-federation.mode" .) "kuberay" }}
  enableInTreeAutoscaling: true
  autoscalerOptions:
    {{- include "ray-federation.autoscalerOptions" . | nindent 4 }}
  {{- else }}
  enableInTreeAutoscaling: false
  rayStartParams:
    # keep your other rayStartParams
    autoscaling-config: {{ include "ray-federation.autoscalingFile" . }}
  # the ray-head container generates autoscaling.yaml, then runs KubeRay's `ray start` line; needs the
  # RayCluster annotation ray.io/overwrite-container-cmd: "true" (see annotations: below)
  {{- include "ray-federation.headCommand" . | nindent 2 }}
  containerEnv:
    # keep your other containerEnv entries
    {{- include "ray-federation.autoscalerEnv" . | nindent 4 }}
  volumeMounts:
    # keep the chart's log-volume mount and your own
    - name: log-volume
      mountPath: /tmp/ray
    {{- include "ray-federation.autoscalerVolumeMounts" . | nindent 4 }}
  {{- end }}
  {{- if or (include "ray-federation.pluginInitContainer" .) $native }}
  initContainers:
    {{- with include "ray-federation.pluginInitContainer" . }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- if $native }}
    {{- include "ray-federation.sidecarContainer" . | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- if not $native }}
  sidecarContainers:
    {{- include "ray-federation.sidecarContainer" . | nindent 4 }}
  {{- end }}
  volumes:
    # keep the chart's log-volume and your own
    - name: log-volume
      emptyDir: {}
    {{- include "ray-federation.volumes" . | nindent 4 }}
{{- if eq (include "ray-federation.mode" .) "rayStart" }}
# the RayCluster's metadata.annotations (KubeRay 1.1+ then keeps head.command/args)
annotations:
  ray.io/overwrite-container-cmd: "true"
{{- end }}
{{- end -}}
