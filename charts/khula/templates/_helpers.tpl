{{/*
Names. The release's objects are "<fullname>-api", "<fullname>-worker-<site>",
"<fullname>-migrate", "<fullname>-site-<site>" and so on.
*/}}
{{- define "khula.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "khula.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "khula.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "khula.labels" -}}
helm.sh/chart: {{ include "khula.chart" . }}
{{ include "khula.selectorLabels" . }}
app.kubernetes.io/version: {{ include "khula.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: khula
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "khula.selectorLabels" -}}
app.kubernetes.io/name: {{ include "khula.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Image reference: a digest wins over a tag; the tag defaults to the chart's appVersion. */}}
{{- define "khula.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "khula.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "khula.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* Secret names: the operator's existing Secret, or the one this chart writes. */}}
{{- define "khula.dbSecretName" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else -}}
{{- printf "%s-db" (include "khula.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "khula.dbSecretKey" -}}
{{- if .Values.database.existingSecret -}}{{ .Values.database.existingSecretKey }}{{- else -}}dsn{{- end -}}
{{- end -}}

{{- define "khula.payloadKeysSecretName" -}}
{{- if .Values.payloadKeys.existingSecret -}}
{{- .Values.payloadKeys.existingSecret -}}
{{- else -}}
{{- printf "%s-payload-keys" (include "khula.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "khula.payloadKeysSecretKey" -}}
{{- if .Values.payloadKeys.existingSecret -}}{{ .Values.payloadKeys.existingSecretKey }}{{- else -}}keyring.json{{- end -}}
{{- end -}}

{{/* "file" (a JSON keyring mounted as a file) or "env" (an id:BASE64 list in $KHULA_PAYLOAD_KEYS). */}}
{{- define "khula.payloadKeysFormat" -}}
{{- if .Values.payloadKeys.existingSecret -}}{{ .Values.payloadKeys.existingSecretFormat }}{{- else -}}file{{- end -}}
{{- end -}}

{{- define "khula.apiKeySecretName" -}}
{{- if .Values.temporal.apiKey.existingSecret -}}
{{- .Values.temporal.apiKey.existingSecret -}}
{{- else -}}
{{- printf "%s-temporal-api-key" (include "khula.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "khula.apiKeySecretKey" -}}
{{- if .Values.temporal.apiKey.existingSecret -}}{{ .Values.temporal.apiKey.existingSecretKey }}{{- else -}}api-key{{- end -}}
{{- end -}}

{{- define "khula.apiKeyEnabled" -}}
{{- if or .Values.temporal.apiKey.value .Values.temporal.apiKey.existingSecret -}}true{{- end -}}
{{- end -}}

{{/*
The rendered data of the chart's own Secrets, for checksum annotations (pods
roll when a secret value set through the chart changes).
*/}}
{{- define "khula.secretsChecksum" -}}
{{- $v := dict "db" .Values.database.dsn "keys" .Values.payloadKeys.keys "active" .Values.payloadKeys.active "apiKey" .Values.temporal.apiKey.value -}}
{{- toJson $v | sha256sum -}}
{{- end -}}

{{/*
Checks the values once; every template that needs a setting includes this, so
a missing one fails the render with a message rather than a crash-looping pod.
*/}}
{{- define "khula.validate" -}}
{{- if not (or .Values.database.dsn .Values.database.existingSecret) -}}
{{- fail "database: set database.existingSecret (a Secret holding the PostgreSQL URL) or database.dsn" -}}
{{- end -}}
{{- if and .Values.database.dsn .Values.database.existingSecret -}}
{{- fail "database: set database.dsn or database.existingSecret, not both" -}}
{{- end -}}
{{- if not (or .Values.payloadKeys.keys .Values.payloadKeys.existingSecret) -}}
{{- fail "payloadKeys: set payloadKeys.existingSecret or payloadKeys.keys and payloadKeys.active (the chart never generates keys: a lost key makes the engine's history unreadable)" -}}
{{- end -}}
{{- if and .Values.payloadKeys.keys .Values.payloadKeys.existingSecret -}}
{{- fail "payloadKeys: set payloadKeys.keys or payloadKeys.existingSecret, not both" -}}
{{- end -}}
{{- if .Values.payloadKeys.keys -}}
{{- if not (hasKey .Values.payloadKeys.keys .Values.payloadKeys.active) -}}
{{- fail (printf "payloadKeys.active %q is not one of payloadKeys.keys" .Values.payloadKeys.active) -}}
{{- end -}}
{{- range $id, $b64 := .Values.payloadKeys.keys -}}
{{- if not (regexMatch "^[A-Za-z0-9._-]{1,64}$" $id) -}}
{{- fail (printf "payloadKeys.keys: key id %q must be 1-64 letters, digits, '.', '_' or '-'" $id) -}}
{{- end -}}
{{- if ne (len (b64dec $b64)) 32 -}}
{{- fail (printf "payloadKeys.keys.%s must be 32 random bytes in standard base64 (head -c32 /dev/urandom | base64)" $id) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not (has (include "khula.payloadKeysFormat" .) (list "file" "env")) -}}
{{- fail "payloadKeys.existingSecretFormat must be file or env" -}}
{{- end -}}
{{- if and .Values.temporal.apiKey.value .Values.temporal.apiKey.existingSecret -}}
{{- fail "temporal.apiKey: set value or existingSecret, not both" -}}
{{- end -}}
{{- if and .Values.temporal.tls.enabled (not .Values.temporal.tls.existingSecret) -}}
{{- fail "temporal.tls.enabled needs temporal.tls.existingSecret (a Secret with the client certificate, key and/or CA)" -}}
{{- end -}}
{{- if not .Values.temporal.address -}}
{{- fail "temporal.address is required (the Temporal frontend host:port)" -}}
{{- end -}}
{{- $seen := dict -}}
{{- range .Values.sites -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,28}[a-z0-9])?$" (toString .name)) -}}
{{- fail (printf "sites: %q is not a site id this chart can name objects after (lower-case letters, digits and '-', at most 30)" (toString .name)) -}}
{{- end -}}
{{- if and (hasKey . "replicas") (gt (int .replicas) 1) -}}
{{- fail (printf "sites: %s has replicas %v: a site has one worker (its plugins' idempotency journal is used by one worker only); 0 stops it" .name .replicas) -}}
{{- end -}}
{{- if hasKey $seen .name -}}
{{- fail (printf "sites: %q is listed twice" .name) -}}
{{- end -}}
{{- $_ := set $seen .name true -}}
{{- end -}}
{{- end -}}

{{- define "khula.siteConfigMapName" -}}
{{- $root := index . 0 -}}
{{- $site := index . 1 -}}
{{- if $site.configMap -}}
{{- $site.configMap -}}
{{- else -}}
{{- printf "%s-site-%s" (include "khula.fullname" $root) $site.name -}}
{{- end -}}
{{- end -}}

{{/* sha256 of one site's files, for a pod annotation that rolls the pods when they change. */}}
{{- define "khula.siteChecksum" -}}
{{- $root := index . 0 -}}
{{- $site := index . 1 -}}
{{- if $site.configMap -}}
external
{{- else -}}
{{- $out := list -}}
{{- range $path, $_ := $root.Files.Glob (printf "sites/%s/*" $site.name) -}}
{{- $out = append $out (printf "%s:%s" $path ($root.Files.Get $path | sha256sum)) -}}
{{- end -}}
{{- $out | sortAlpha | join "," | sha256sum -}}
{{- end -}}
{{- end -}}

{{/*
Environment shared by serve, worker and migrate: where Temporal is and where
each secret file is mounted. Secrets are files, never environment variables,
so that plugin processes (which inherit the environment) never see them.
*/}}
{{- define "khula.env" -}}
- name: KHULA_TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: KHULA_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: KHULA_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: KHULA_DB_FILE
  value: /etc/khula/db/dsn
{{- if eq (include "khula.payloadKeysFormat" .) "file" }}
- name: KHULA_PAYLOAD_KEYS_FILE
  value: /etc/khula/payload-keys/keyring.json
{{- else }}
- name: KHULA_PAYLOAD_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ include "khula.payloadKeysSecretName" . }}
      key: {{ include "khula.payloadKeysSecretKey" . }}
{{- end }}
{{- if .Values.temporal.tls.enabled }}
{{- if .Values.temporal.tls.certKey }}
- name: KHULA_TLS_CERT
  value: /etc/khula/temporal-tls/tls.crt
- name: KHULA_TLS_KEY
  value: /etc/khula/temporal-tls/tls.key
{{- end }}
{{- if .Values.temporal.tls.caKey }}
- name: KHULA_TLS_CA
  value: /etc/khula/temporal-tls/ca.crt
{{- end }}
{{- with .Values.temporal.tls.serverName }}
- name: KHULA_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if include "khula.apiKeyEnabled" . }}
- name: KHULA_TEMPORAL_API_KEY_FILE
  value: /etc/khula/temporal-api-key/api-key
{{- end }}
{{- if .Values.growth.volume }}
- name: KHULA_WHO_GROWTH_DIR
  value: {{ .Values.growth.mountPath | quote }}
{{- end }}
{{- end -}}

{{/* Secret volumes (database URL, payload keys, Temporal credentials) and /tmp. */}}
{{- define "khula.secretVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
- name: db
  secret:
    secretName: {{ include "khula.dbSecretName" . }}
    defaultMode: 0440
    items:
      - key: {{ include "khula.dbSecretKey" . }}
        path: dsn
{{- if eq (include "khula.payloadKeysFormat" .) "file" }}
- name: payload-keys
  secret:
    secretName: {{ include "khula.payloadKeysSecretName" . }}
    defaultMode: 0440
    items:
      - key: {{ include "khula.payloadKeysSecretKey" . }}
        path: keyring.json
{{- end }}
{{- if .Values.temporal.tls.enabled }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.existingSecret }}
    defaultMode: 0440
    items:
      {{- if .Values.temporal.tls.certKey }}
      - key: {{ .Values.temporal.tls.certKey }}
        path: tls.crt
      - key: {{ .Values.temporal.tls.keyKey }}
        path: tls.key
      {{- end }}
      {{- if .Values.temporal.tls.caKey }}
      - key: {{ .Values.temporal.tls.caKey }}
        path: ca.crt
      {{- end }}
{{- end }}
{{- if include "khula.apiKeyEnabled" . }}
- name: temporal-api-key
  secret:
    secretName: {{ include "khula.apiKeySecretName" . }}
    defaultMode: 0440
    items:
      - key: {{ include "khula.apiKeySecretKey" . }}
        path: api-key
{{- end }}
{{- end -}}

{{- define "khula.secretVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: db
  mountPath: /etc/khula/db
  readOnly: true
{{- if eq (include "khula.payloadKeysFormat" .) "file" }}
- name: payload-keys
  mountPath: /etc/khula/payload-keys
  readOnly: true
{{- end }}
{{- if .Values.temporal.tls.enabled }}
- name: temporal-tls
  mountPath: /etc/khula/temporal-tls
  readOnly: true
{{- end }}
{{- if include "khula.apiKeyEnabled" . }}
- name: temporal-api-key
  mountPath: /etc/khula/temporal-api-key
  readOnly: true
{{- end }}
{{- end -}}

{{/* The WHO growth tables volume, when the operator provides one. */}}
{{- define "khula.growthVolume" -}}
{{- if .Values.growth.volume }}
- name: who-growth
{{ toYaml .Values.growth.volume | indent 2 }}
{{- end }}
{{- end -}}

{{- define "khula.growthVolumeMount" -}}
{{- if .Values.growth.volume }}
- name: who-growth
  mountPath: {{ .Values.growth.mountPath }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by every pod. */}}
{{- define "khula.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
{{- if .Values.serviceAccountName }}
serviceAccountName: {{ .Values.serviceAccountName }}
{{- end }}
automountServiceAccountToken: {{ .Values.automountServiceAccountToken }}
enableServiceLinks: false
securityContext:
{{ toYaml .Values.podSecurityContext | indent 2 }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}
