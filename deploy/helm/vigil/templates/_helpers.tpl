{{/* The tag of Vigil's images: the chart's appVersion unless set. */}}
{{- define "vigil.tag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/* Labels every object of the chart carries. */}}
{{- define "vigil.labels" -}}
app.kubernetes.io/part-of: vigil
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The NATS URL in the release's namespace. */}}
{{- define "vigil.natsURL" -}}
tls://nats.{{ .Release.Namespace }}.svc:4222
{{- end -}}

{{/* The security context of Vigil's containers. */}}
{{- define "vigil.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: ["ALL"]}
{{- end -}}

{{/* The security context of Vigil's pods. */}}
{{- define "vigil.podSecurity" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile: {type: RuntimeDefault}
{{- end -}}
