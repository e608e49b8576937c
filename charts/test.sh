#!/usr/bin/env bash
# Chart tests: lint both charts strictly, render them with default and example values, check what the
# rendered objects say (and that invalid values are refused with the field named), render the NOTES,
# and check that the generated examples under charts/ray-federation/examples/ are current.
#
#   charts/test.sh                    run everything; prints "charts: N passed, N failed"
#   charts/test.sh --update-examples  regenerate the generated examples first
#
# helm comes from scripts/lib/helm (built from source once). Rendered output goes to a temp dir that is
# kept and printed when something fails (or always, with KEEP_RENDERED=1). PyYAML (python3 -c 'import yaml') enables the structured checks;
# without it they are skipped with a note. When a Ray venv made by scripts/lib/python-env exists, the
# autoscaling-config generation each rendered head pod runs at start is run against a stand-in sidecar
# and its output through Ray's own config validation.
set -uo pipefail

charts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$charts_dir")"
helm="$repo_dir/scripts/lib/helm"
fed="$charts_dir/ray-federation"
member="$charts_dir/ray-federation-member"
full_values="$fed/examples/full-values.yaml"

update_examples=false
for arg in "$@"; do
  case "$arg" in
    --update-examples) update_examples=true ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "charts/test.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

work="$(mktemp -d "${TMPDIR:-/tmp}/ray-federation-charts.XXXXXX")"
out="$work/rendered"
mkdir -p "$out"
passed=0
failed=0
failures=()

pass() { passed=$((passed + 1)); printf '  ok    %s\n' "$1"; }
fail() {
  failed=$((failed + 1))
  failures+=("$1")
  printf '  FAIL  %s\n' "$1"
  if [[ -n "${2:-}" ]]; then
    while IFS= read -r line; do printf '        %s\n' "$line"; done <<<"$2"
  fi
  return 0
}

# run NAME CMD...: a check that passes when CMD exits 0; its output is shown when it fails.
run() {
  local name="$1"; shift
  local log
  if log="$("$@" 2>&1)"; then pass "$name"; else fail "$name" "$log"; fi
}

# render NAME CHART ARGS...: helm template into $out/NAME.yaml.
render() {
  local name="$1" chart="$2"; shift 2
  local log
  if log="$("$helm" template "$@" "$chart" 2>&1 >"$out/$name.yaml")"; then
    pass "render $name"
  else
    fail "render $name" "$log"
  fi
}

# refuse NAME EXPECTED CHART ARGS...: rendering must fail and the error must contain EXPECTED.
refuse() {
  local name="$1" expected="$2" chart="$3"; shift 3
  local log
  if log="$("$helm" template refused "$chart" "$@" 2>&1)"; then
    fail "refuses $name" "rendered although it should have failed"
  elif grep -qF -- "$expected" <<<"$log"; then
    pass "refuses $name"
  else
    fail "refuses $name" "expected the error to mention: $expected"$'\n'"$log"
  fi
}

# render_helper NAME CHART TEMPLATE_NAME ARGS...: renders one named template (or NOTES.txt when
# TEMPLATE_NAME is NOTES) as plain text into $out/NAME.txt, through a copy of the chart with a
# ConfigMap wrapper (helm template prints neither helpers nor NOTES.txt by themselves).
render_helper() {
  local name="$1" chart="$2" tpl="$3"; shift 3
  local copy="$work/copy-$name"
  rm -rf "$copy"
  cp -R "$chart" "$copy"
  if [[ "$tpl" == NOTES ]]; then
    { echo '{{- define "charts-test.notes" -}}'; cat "$chart/templates/NOTES.txt"; echo '{{- end -}}'; } >"$copy/templates/_charts_test_notes.tpl"
    tpl="charts-test.notes"
  fi
  cat >"$copy/templates/zz-charts-test.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: charts-test
data:
  text: {{ include "$tpl" . | toJson }}
EOF
  local log
  if log="$("$helm" template "$@" "$copy" --show-only templates/zz-charts-test.yaml 2>&1 >"$work/$name.wrapped")" &&
     python3 -c 'import json, sys
for line in open(sys.argv[1]):
    if line.startswith("  text: "):
        sys.stdout.write(json.loads(line[len("  text: "):]) + "\n")
        break
else:
    sys.exit("no text in the wrapper output")' "$work/$name.wrapped" >"$out/$name.txt"; then
    pass "render $name"
  else
    fail "render $name" "$log"
  fi
}

echo "helm: $("$helm" version --short 2>&1 | tail -1)"

echo "lint"
run "lint ray-federation (defaults)" "$helm" lint --strict "$fed"
run "lint ray-federation (examples/full-values.yaml)" "$helm" lint --strict "$fed" -f "$full_values"
run "lint ray-federation (full values, RayCluster, mode rayStart)" "$helm" lint --strict "$fed" -f "$full_values" \
  --set kubeRay.rayCluster.create=true --set autoscaler.mode=rayStart --set autoscaler.plugin.source=image
run "lint ray-federation (NetworkPolicy, no API token)" "$helm" lint --strict "$fed" --set networkPolicy.enabled=true \
  --set api.token.enabled=false
run "lint ray-federation-member (defaults)" "$helm" lint --strict "$member"
run "lint ray-federation-member (token Secret, namespace created)" "$helm" lint --strict "$member" \
  --set tokenSecret.create=true --set namespace.create=true --set memberName=gcp-usc1

echo "render"
render fed-defaults "$fed" ray-federation -n ray
render fed-full "$fed" ray-federation -n ray -f "$full_values"
render fed-full-raycluster-kuberay "$fed" ray-federation -n ray -f "$full_values" --set kubeRay.rayCluster.create=true
render fed-full-raycluster-raystart "$fed" ray-federation -n ray -f "$full_values" --set kubeRay.rayCluster.create=true \
  --set autoscaler.mode=rayStart
render fed-open-api "$fed" ray-federation -n ray --set api.host=0.0.0.0 --set api.token.existingSecret=api-token
render fed-defaults-raycluster "$fed" ray-federation -n ray --set kubeRay.rayCluster.create=true
render fed-defaults-raycluster-raystart "$fed" ray-federation -n ray --set kubeRay.rayCluster.create=true --set autoscaler.mode=rayStart
render fed-full-raycluster-kuberay-native "$fed" ray-federation -n ray -f "$full_values" --set kubeRay.rayCluster.create=true \
  --set nativeSidecar=true
render fed-auto-kuberay-1.6 "$fed" ray-federation -n ray --set kubeRay.rayCluster.create=true --set kubeRay.version=1.6.0
render fed-auto-kuberay-1.7 "$fed" ray-federation -n ray --set kubeRay.rayCluster.create=true --set kubeRay.version=v1.7.0
render fed-monitoring-no-crds-offline "$fed" ray-federation -n ray --set serviceMonitor.enabled=true \
  --set monitoring.prometheusRule.enabled=true
render fed-no-token "$fed" ray-federation -n ray --set kubeRay.rayCluster.create=true --set api.token.enabled=false
render fed-logging-json "$fed" ray-federation -n ray --set kubeRay.rayCluster.create=true --set logging.format=json \
  --set-string 'logging.level=info\,dev.rayfederation.k8s=debug'
render fed-netpol "$fed" ray-federation -n ray --set networkPolicy.enabled=true \
  --set-json 'networkPolicy.management.from=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}},"podSelector":{"matchLabels":{"app.kubernetes.io/name":"prometheus"}}}]'
render fed-netpol-open-api "$fed" ray-federation -n ray --set networkPolicy.enabled=true --set api.host=0.0.0.0 \
  --set api.port=9091 --set-json 'networkPolicy.ray.from=[{"ipBlock":{"cidr":"10.0.0.0/8"}}]'
render member-defaults "$member" aws-use1 -n ray-workers
render member-full "$member" gcp-usc1 -n ray-workers --set tokenSecret.create=true --set namespace.create=true \
  --set-json 'namespace.labels={"pod-security.kubernetes.io/enforce":"baseline"}'
render member-no-capacity-reader "$member" azure-eastus -n ray-workers --set rbac.capacityReader.enabled=false
render member-home "$member" home -n ray-workers --set serviceAccount.create=false --set serviceAccount.name=ray-federation \
  --set serviceAccount.namespace=ray
render_helper fed-notes-defaults "$fed" NOTES ray-federation -n ray
render_helper fed-notes-full-raystart "$fed" NOTES ray-federation -n ray -f "$full_values" --set autoscaler.mode=rayStart \
  --set autoscaler.plugin.source=image
render_helper fed-notes-netpol-no-peers "$fed" NOTES ray-federation -n ray --set networkPolicy.enabled=true
render_helper fed-kuberay-values "$fed" ray-federation.kubeRayHeadValues ray-federation -n ray -f "$full_values"
render_helper fed-kuberay-values-native "$fed" ray-federation.kubeRayHeadValues ray-federation -n ray -f "$full_values" \
  --set nativeSidecar=true
render_helper fed-notes-auto-1.6 "$fed" NOTES ray-federation -n ray --set kubeRay.version=1.6.0
render_helper member-notes "$member" NOTES gcp-usc1 -n ray-workers --set tokenSecret.create=true --set home.context=home

echo "invalid values are refused with the field named"
refuse "an API open to the network without a token" "api.token.enabled: must be true when api.host (0.0.0.0)" "$fed" \
  --set api.host=0.0.0.0 --set api.token.enabled=false
refuse "a token Secret named while the token is off" 'api.token.existingSecret: "mine" is set but api.token.enabled is false' \
  "$fed" --set api.token.enabled=false --set api.token.existingSecret=mine
refuse "a pool naming an unknown virtual cluster" 'pools[0].virtualCluster: "research" is not one of virtualClusters[].name (default)' \
  "$fed" --set-json 'pools=[{"name":"p","virtualCluster":"research","resources":{"CPU":1}}]'
refuse "a pool naming an unknown member" 'pools[0].clusters[1]: "mars" is not one of members[].name (home)' "$fed" \
  --set-json 'pools=[{"name":"p","virtualCluster":"default","resources":{"CPU":1},"clusters":["home","mars"]}]'
refuse "an override for an unknown member" 'pools[0].overrides.mars: "mars" is not one of members[].name (home)' "$fed" \
  --set-json 'pools=[{"name":"p","virtualCluster":"default","resources":{"CPU":1},"overrides":{"mars":{"spec":{}}}}]'
refuse "a negative resource (GPU: -1)" "pools[0].resources.GPU: -1 is negative" "$fed" \
  --set-json 'pools=[{"name":"p","virtualCluster":"default","resources":{"CPU":1,"GPU":-1}}]'
refuse "a malformed quantity (16 Gi)" 'pools[0].resources.memory: "16 Gi" is not a number or Kubernetes quantity' "$fed" \
  --set-json 'pools=[{"name":"p","virtualCluster":"default","resources":{"CPU":1,"memory":"16 Gi"}}]'
refuse "a malformed static capacity" 'members[0].staticCapacity.memory: "2TB" is not a number or Kubernetes quantity' "$fed" \
  --set-json 'members=[{"name":"home","cloud":"c","capacity":"static","staticCapacity":{"CPU":8,"memory":"2TB"}}]'
refuse "a negative quota" "virtualClusters[0].quota.CPU: -4 is negative" "$fed" \
  --set-json 'virtualClusters=[{"name":"default","quota":{"CPU":-4}}]'
refuse "two pools with one name" 'pools[1].name: "cpu" is already used by pools[0]' "$fed" \
  --set-json 'pools=[{"name":"cpu","virtualCluster":"default","resources":{"CPU":1}},{"name":"cpu","virtualCluster":"default","rayNodeType":"cpu2","resources":{"CPU":2}}]'
refuse "two virtual clusters with one name" 'virtualClusters[1].name: "default" is already used by virtualClusters[0]' "$fed" \
  --set-json 'virtualClusters=[{"name":"default"},{"name":"default"}]'
refuse "maxWorkers below minWorkers" "pools[0].maxWorkers: 2 is less than minWorkers (5)" "$fed" \
  --set-json 'pools=[{"name":"p","virtualCluster":"default","resources":{"CPU":1},"minWorkers":5,"maxWorkers":2}]'
refuse "minWorkers above the default maxWorkers" "pools[0].maxWorkers: defaults to 100, less than minWorkers (101)" "$fed" \
  --set-json 'pools=[{"name":"p","virtualCluster":"default","resources":{"CPU":1},"minWorkers":101}]'
refuse "a NetworkPolicy peer that is not one (schema)" "at '/networkPolicy/management/from/0'" "$fed" \
  --set networkPolicy.enabled=true --set-json 'networkPolicy.management.from=[{"namespace":"monitoring"}]'
refuse "two members with one name" 'members[1].name: "home" is already used by members[0]' "$fed" \
  --set-json 'members=[{"name":"home","cloud":"a"},{"name":"home","cloud":"b"}]'
refuse "a member name that is not a DNS label" 'members[0].name: "AWS_1"' "$fed" --set-json 'members=[{"name":"AWS_1","cloud":"aws"}]'
refuse "a pool without resources (schema)" "at '/pools/0': missing property 'resources'" "$fed" \
  --set-json 'pools=[{"name":"p","virtualCluster":"default"}]'
refuse "a resource that is not a quantity" 'pools[0].resources.memory: "lots"' "$fed" \
  --set-json 'pools=[{"name":"p","virtualCluster":"default","resources":{"CPU":1,"memory":"lots"}}]'
refuse "static capacity without staticCapacity" "members[0].staticCapacity: is required" "$fed" \
  --set-json 'members=[{"name":"m","cloud":"c","capacity":"static"}]'
refuse "an unknown autoscaler mode (schema)" "at '/autoscaler/mode'" "$fed" --set autoscaler.mode=sometimes
refuse "a head address without a port" "rayCluster.headAddress" "$fed" --set rayCluster.headAddress=ray-head.example
refuse "a member name with capitals" 'memberName: "Prod"' "$member" --set memberName=Prod
refuse "half a CPU for the head (Ray's config takes whole amounts; schema)" "at '/autoscaler/head/resources/CPU'" "$fed" \
  --set-json 'autoscaler.head.resources={"CPU":0.5}'
refuse "mode kuberay on KubeRay 1.6.0 (no autoscalerOptions.command)" \
  'autoscaler.mode: kuberay needs KubeRay 1.7.0 or newer, whose RayCluster has spec.autoscalerOptions.command/args' "$fed" \
  --set autoscaler.mode=kuberay --set kubeRay.version=1.6.0
refuse "a KubeRay version that is not one (schema)" "at '/kubeRay/version'" "$fed" --set kubeRay.version=latest
refuse "nativeSidecar neither auto nor a boolean (schema)" "at '/nativeSidecar'" "$fed" --set nativeSidecar=sometimes
refuse "a log format the sidecar does not write (schema)" "at '/logging/format'" "$fed" --set logging.format=xml
refuse "a log level that is not one (schema)" "at '/logging/level'" "$fed" --set-string 'logging.level=info\,dev.rayfederation=loud'
refuse "autoscaler v2 with a head node type KubeRay does not report" 'autoscaler.head.nodeType: "ray.head.default" must be "headgroup"' \
  "$fed" --set autoscaler.version=v2 --set autoscaler.head.nodeType=ray.head.default

echo "rendered objects"
if python3 -c 'import yaml' 2>/dev/null; then
  run "every rendered file parses as YAML, with kind and name" python3 - "$out" <<'PY'
import pathlib, sys, yaml
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    for doc in yaml.safe_load_all(f.read_text()):
        if doc is None:
            continue
        assert doc.get("kind") and doc.get("metadata", {}).get("name"), f"{f.name}: object without kind or name: {doc}"
        for key in ("federation.yaml", "autoscaling.yaml"):
            if key in doc.get("data", {}):
                yaml.safe_load(doc["data"][key])
for f in sorted(pathlib.Path(sys.argv[1]).glob("*kuberay-values.txt")):
    assert "head" in yaml.safe_load(f.read_text()), f"{f.name}: no head: block"
PY
  run "chart behaviour (config, autoscaler, pod, RBAC)" python3 "$charts_dir/test_rendered.py" "$out"
else
  echo "  skip  structured checks: PyYAML is not installed (pip install pyyaml)"
fi

ray_python=""
for candidate in "${RAY_FEDERATION_CACHE:-$HOME/.cache/ray-federation}"/venv-ray-*/bin/python; do
  [[ -x "$candidate" ]] && "$candidate" -c 'import ray, yaml, ray_federation' 2>/dev/null && ray_python="$candidate" && break
done
if [[ -n "$ray_python" ]]; then
  run "the head pod's config generation gives configs Ray accepts ($("$ray_python" -c 'import ray; print("ray", ray.__version__)'))" \
    "$ray_python" "$charts_dir/test_generated_config.py" "$out"
else
  echo "  skip  generating the autoscaling configs for Ray: no Ray venv (scripts/lib/python-env makes one)"
fi

echo "generated examples"
gen_header() { printf '# Generated by charts/test.sh --update-examples from examples/full-values.yaml%b.\n# Do not edit: change the chart or full-values.yaml and regenerate.\n' "$1"; }
declare -A examples=(
  [raycluster-kuberay-autoscaler.yaml]="fed-full-raycluster-kuberay|templates/050-RayCluster-ray-federation.yaml| with kubeRay.rayCluster.create=true, nativeSidecar=true.\n# Mode kuberay: needs KubeRay 1.7.0 or newer (autoscalerOptions.command/args); see docs/kuberay.md"
  [raycluster-ray-start.yaml]="fed-full-raycluster-raystart|templates/050-RayCluster-ray-federation.yaml| with kubeRay.rayCluster.create=true, nativeSidecar=true,\n# autoscaler.mode=rayStart. Mode rayStart: KubeRay 1.4.0 or newer; see docs/kuberay.md"
  [ray-cluster-chart-values.yaml]="fed-kuberay-values||: the head: values for KubeRay's ray-cluster chart"
)
for example in raycluster-kuberay-autoscaler.yaml raycluster-ray-start.yaml ray-cluster-chart-values.yaml; do
  IFS='|' read -r source show_only note <<<"${examples[$example]}"
  fresh="$work/example-$example"
  if [[ -n "$show_only" ]]; then
    args=(-n ray -f "$full_values" --set kubeRay.rayCluster.create=true --set nativeSidecar=true)
    [[ "$example" == raycluster-ray-start.yaml ]] && args+=(--set autoscaler.mode=rayStart)
    { gen_header "$note"; "$helm" template ray-federation "$fed" "${args[@]}" --show-only "$show_only" 2>/dev/null | sed '/^# Source: /d'; } >"$fresh"
  else
    { gen_header "$note"; cat "$out/$source.txt"; } >"$fresh"
  fi
  if $update_examples; then
    cp "$fresh" "$fed/examples/$example"
  fi
  if diff -u "$fed/examples/$example" "$fresh" >"$work/diff-$example" 2>&1; then
    pass "examples/$example is current"
  else
    fail "examples/$example is current" "$(head -40 "$work/diff-$example")"$'\n'"(run charts/test.sh --update-examples)"
  fi
done


# ---------------------------------------------------------------- monitoring: dashboard and alerts ----
# The Grafana dashboard (dashboards/ray-federation.json) and the alert rules (rules/ray-federation.rules.yaml)
# the chart ships behind monitoring.grafanaDashboard.enabled / monitoring.prometheusRule.enabled. promtool
# comes from scripts/lib/promtool (built from source once). That both use only metric names the sidecar
# exports is checked by MetricsE2ETest against a real scrape (it writes tests/target/scraped-metric-names.txt,
# compared here again when present).
echo "monitoring"
promtool="$repo_dir/scripts/lib/promtool"
rules_file="$fed/rules/ray-federation.rules.yaml"
dashboard_file="$fed/dashboards/ray-federation.json"
run "lint ray-federation (dashboard and alerts on)" "$helm" lint --strict "$fed" \
  --set monitoring.grafanaDashboard.enabled=true --set monitoring.prometheusRule.enabled=true
render fed-monitoring "$fed" ray-federation -n ray --set monitoring.grafanaDashboard.enabled=true \
  --set monitoring.prometheusRule.enabled=true --set-json 'monitoring.prometheusRule.labels={"release":"kube-prometheus-stack"}'
refuse "a misspelt monitoring value (schema)" "at '/monitoring/prometheusRule': additional properties 'enable'" "$fed" \
  --set monitoring.prometheusRule.enable=true
if grep -q 'kind: PrometheusRule\|grafana_dashboard' "$out/fed-defaults.yaml" "$out/fed-full.yaml"; then
  fail "dashboard and alerts are off by default" "$(grep -l 'kind: PrometheusRule\|grafana_dashboard' "$out"/fed-defaults.yaml "$out"/fed-full.yaml)"
else
  pass "dashboard and alerts are off by default"
fi
if python3 -c 'import yaml' 2>/dev/null; then
  run "rendered dashboard ConfigMap and PrometheusRule carry the files" python3 - "$out/fed-monitoring.yaml" \
    "$dashboard_file" "$rules_file" "$work/rendered-rules.yaml" <<'PY'
import json, sys, yaml
rendered, dashboard_file, rules_file, rendered_rules = sys.argv[1:5]
objects = {d["kind"]: d for d in yaml.safe_load_all(open(rendered)) if d and d.get("kind") in ("ConfigMap", "PrometheusRule")
           and d["metadata"]["name"] in ("ray-federation-dashboard", "ray-federation")}
cm, rule = objects.get("ConfigMap"), objects.get("PrometheusRule")
assert cm and rule, f"dashboard ConfigMap or PrometheusRule missing: {sorted(objects)}"
assert cm["metadata"]["labels"].get("grafana_dashboard") == "1", cm["metadata"]["labels"]
dashboard = json.loads(cm["data"]["ray-federation.json"])
assert dashboard == json.load(open(dashboard_file)), "the ConfigMap's dashboard differs from dashboards/ray-federation.json"
assert dashboard["uid"] and dashboard["title"] and dashboard["panels"], "dashboard without uid, title or panels"
assert rule["apiVersion"] == "monitoring.coreos.com/v1", rule["apiVersion"]
assert rule["metadata"]["namespace"] == "ray" and rule["metadata"]["labels"].get("release") == "kube-prometheus-stack", rule["metadata"]
want = yaml.safe_load(open(rules_file).read().replace('job="ray-federation"', 'job="ray-federation-management",namespace="ray"'))
assert rule["spec"] == want, "the PrometheusRule's spec differs from rules/ray-federation.rules.yaml (job selector replaced)"
ups = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if "up{" in r["expr"]]
assert ups and all('up{job="ray-federation-management",namespace="ray"}' in e for e in ups), ups
open(rendered_rules, "w").write(yaml.safe_dump(rule["spec"]))
PY
else
  echo "  skip  structured monitoring checks: PyYAML is not installed (pip install pyyaml)"
fi
echo "promtool: $("$promtool" --version 2>&1 | head -1)"
run "promtool check rules rules/ray-federation.rules.yaml" "$promtool" check rules "$rules_file"
if [[ -f "$work/rendered-rules.yaml" ]]; then
  run "promtool check rules (as rendered into the PrometheusRule)" "$promtool" check rules "$work/rendered-rules.yaml"
fi
run "promtool test rules tests/ray-federation.rules.test.yaml" "$promtool" test rules "$fed/tests/ray-federation.rules.test.yaml"
# Every dashboard query parses as PromQL (Grafana's variables replaced by what they expand to).
dashboard_queries() {
  python3 - "$dashboard_file" <<'PY'
import json, sys
def queries(panels):
    for p in panels:
        yield from queries(p.get("panels", []))
        for t in p.get("targets", []):
            yield t["expr"].replace("$__rate_interval", "5m").replace("$job", ".+").replace("\n", " ")
for q in queries(json.load(open(sys.argv[1]))["panels"]):
    print(q)
PY
}
query_log=""
query_count=0
while IFS= read -r query; do
  query_count=$((query_count + 1))
  if ! err="$("$promtool" --experimental promql format "$query" 2>&1 >/dev/null)"; then
    query_log+="$query"$'\n'"  $err"$'\n'
  fi
done < <(dashboard_queries)
if ((query_count == 0)); then
  fail "every dashboard query parses as PromQL" "no queries found in $dashboard_file"
elif [[ -n "$query_log" ]]; then
  fail "every dashboard query parses as PromQL" "$query_log"
else
  pass "every dashboard query parses as PromQL ($query_count queries)"
fi
scraped="$repo_dir/tests/target/scraped-metric-names.txt"
if [[ -f "$scraped" ]]; then
  missing="$(grep -ohE '\b(ray_federation|jvm|process)_[a-z0-9_]*[a-z0-9]\b' "$dashboard_file" "$rules_file" | sort -u | grep -vxF -f "$scraped")"
  if [[ -z "$missing" ]]; then
    pass "dashboard and alerts use only metric names a running sidecar exported ($(wc -l <"$scraped") scraped)"
  else
    fail "dashboard and alerts use only metric names a running sidecar exported" "not exported: $missing"
  fi
else
  echo "  skip  metric names vs a real scrape: no tests/target/scraped-metric-names.txt (MetricsE2ETest writes it)"
fi
# ------------------------------------------------------------ end of monitoring: dashboard and alerts ----

echo
if ((failed > 0)); then
  echo "rendered output kept in $out"
  printf 'failed:\n'; printf '  %s\n' "${failures[@]}"
else
  if [[ -n "${KEEP_RENDERED:-}" ]]; then echo "rendered output kept in $out"; else rm -rf "$work"; fi
fi
echo "charts: $passed passed, $failed failed"
((failed == 0))
