{{/* Helpers of the ray-federation-member chart. */}}

{{- define "ray-federation-member.memberName" -}}
{{- default .Release.Name .Values.memberName -}}
{{- end -}}

{{- define "ray-federation-member.saNamespace" -}}
{{- default .Values.namespace.name .Values.serviceAccount.namespace -}}
{{- end -}}

{{- define "ray-federation-member.tokenSecretName" -}}
{{- default (printf "%s-token" .Values.serviceAccount.name) .Values.tokenSecret.name -}}
{{- end -}}

{{/* Name of the cluster-scoped objects: unique per bound ServiceAccount. */}}
{{- define "ray-federation-member.clusterRoleName" -}}
{{- printf "ray-federation:%s:%s:capacity-reader" (include "ray-federation-member.saNamespace" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "ray-federation-member.labels" -}}
app.kubernetes.io/name: ray-federation-member
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: member-access
app.kubernetes.io/part-of: ray-federation
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
ray-federation.io/member: {{ include "ray-federation-member.memberName" . | quote }}
{{- end -}}

{{- define "ray-federation-member.validate" -}}
{{- $errors := list -}}
{{- $dnsLabel := "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" -}}
{{- if not (regexMatch $dnsLabel (toString .Values.namespace.name)) -}}
{{- $errors = append $errors (printf "namespace.name: %q must be a DNS label" (toString .Values.namespace.name)) -}}
{{- end -}}
{{- if not .Values.serviceAccount.name -}}
{{- $errors = append $errors "serviceAccount.name: is required" -}}
{{- end -}}
{{- $member := include "ray-federation-member.memberName" . -}}
{{- if or (not (regexMatch "^[a-z][-a-z0-9]*$" $member)) (gt (len $member) 40) -}}
{{- $errors = append $errors (printf "memberName: %q must match [a-z][-a-z0-9]* (at most 40 characters), as in ray-federation's members[].name" $member) -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nray-federation-member: invalid values:\n  - %s\n" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}
