{{/* Names are cut at 63 characters: the DNS-label limit of Kubernetes names and label values. */}}
{{- define "s3gan.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The operator's Deployment, Service and ServiceAccount share this name. */}}
{{- define "s3gan.operatorName" -}}
{{- printf "%s-operator" (include "s3gan.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "s3gan.serviceAccountName" -}}
{{- default (include "s3gan.operatorName" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "s3gan.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "s3gan.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: s3gan
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "s3gan.operatorLabels" -}}
{{ include "s3gan.labels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* Labels of the prometheus-operator objects: kube-prometheus-stack selects on `release`. */}}
{{- define "s3gan.monitoringLabels" -}}
{{ include "s3gan.labels" . }}
release: {{ .Values.monitoring.releaseLabel | quote }}
{{- end -}}

{{- define "s3gan.operatorImage" -}}
{{- printf "%s:%s" .Values.image.operator.repository (default .Chart.AppVersion .Values.image.operator.tag) -}}
{{- end -}}

{{- define "s3gan.rayImage" -}}
{{- printf "%s:%s" .Values.image.ray.repository (default .Chart.AppVersion .Values.image.ray.tag) -}}
{{- end -}}

{{/* Prometheus' `job` label of the operator's target: a ServiceMonitor names it after the Service. */}}
{{- define "s3gan.operatorJob" -}}
{{ include "s3gan.operatorName" . }}
{{- end -}}

{{/* The namespaces a namespaced operator serves, as a JSON array: watch.namespaces, or else the
release namespace. */}}
{{- define "s3gan.watchedNamespaces" -}}
{{- default (list .Release.Namespace) .Values.watch.namespaces | toJson -}}
{{- end -}}
