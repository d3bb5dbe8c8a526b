{{/* Names ----------------------------------------------------------------------------------- */}}

{{- define "meganet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-meganet", or the release name when it already contains the chart name. */}}
{{- define "meganet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "meganet.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "meganet.operator.fullname" -}}{{ include "meganet.fullname" . }}-operator{{- end -}}
{{/* The NATS chart's own name for its objects (its "nats.fullname"), computed from its values. */}}
{{- define "meganet.nats.fullname" -}}
{{- if .Values.nats.fullnameOverride -}}
{{- .Values.nats.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "nats" .Values.nats.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "meganet.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (include "meganet.operator.fullname" .) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Images --------------------------------------------------------------------------------- */}}

{{- define "meganet.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Labels: app.kubernetes.io/*; selectors use name + instance only. Call with (dict "ctx" $ "name" "meganet-operator" "component" "operator"). */}}

{{- define "meganet.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end -}}

{{- define "meganet.labels" -}}
{{ include "meganet.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: meganet
app.kubernetes.io/version: {{ default .ctx.Chart.AppVersion .ctx.Values.image.tag | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "meganet.operator.labels" -}}{{ include "meganet.labels" (dict "ctx" . "name" "meganet-operator" "component" "operator") }}{{- end -}}
{{- define "meganet.operator.selectorLabels" -}}{{ include "meganet.selectorLabels" (dict "ctx" . "name" "meganet-operator") }}{{- end -}}
{{/* The NATS chart's pod selector (its "nats.selectorLabels"). */}}
{{- define "meganet.nats.selectorLabels" -}}
app.kubernetes.io/name: {{ default "nats" .Values.nats.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: nats
{{- end -}}
{{- define "meganet.monitoring.labels" -}}{{ include "meganet.labels" (dict "ctx" . "name" "meganet" "component" "monitoring") }}{{- end -}}

{{/* The anchors' pod selector, as the operator labels them (any fleet). */}}
{{- define "meganet.anchor.podSelector" -}}
app.kubernetes.io/name: meganet-anchor
{{- end -}}

{{/* NATS ----------------------------------------------------------------------------------- */}}

{{/* The URL the operator and the default fleet use: the chart's client Service, or the external one. */}}
{{- define "meganet.nats.url" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s.%s.svc.%s:%v" (include "meganet.nats.fullname" .) .Release.Namespace .Values.clusterDomain (dig "config" "nats" "port" 4222 .Values.nats) -}}
{{- else -}}
{{- required "nats.external.url is required when nats.enabled is false" .Values.nats.external.url -}}
{{- end -}}
{{- end -}}

{{/* The ConfigMap the operator writes the chart's NATS auth config into (nats.podTemplate.patch mounts it). */}}
{{- define "meganet.nats.authConfigMap" -}}
{{- printf "%s-nats-auth" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The chart's NATS TLS: the server's certificate (Secret) and the CA alone (ConfigMap); nats.* values mount them. */}}
{{- define "meganet.nats.tlsSecret" -}}
{{- printf "%s-nats-tls" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "meganet.nats.caConfigMap" -}}
{{- printf "%s-nats-ca" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "meganet.nats.labels" -}}{{ include "meganet.labels" (dict "ctx" . "name" "meganet" "component" "nats-security") }}{{- end -}}

{{/* Name of the Secret with NATS credentials, or "" (only for an external NATS). */}}
{{- define "meganet.nats.credentialsSecret" -}}
{{- if not .Values.nats.enabled -}}{{ .Values.nats.external.credentialsSecret.name }}{{- end -}}
{{- end -}}

{{/* Security: the restricted Pod Security Standard, as in cdk8s/src/security.ts. */}}

{{- define "meganet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "meganet.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
{{- end -}}

{{/* A preferred spread over nodes for the pods with these selector labels. */}}
{{- define "meganet.spreadAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- . | nindent 12 }}
{{- end -}}
