# The deployment's choices: the same variables as ../kustomization, which this
# module hands them to (the tests check both declare them alike), then the
# ones about applying.

variable "namespace" {
  description = "Namespace of every namespaced object, created by the module (its Namespace object enforces the restricted Pod Security Standard)."
  type        = string
  default     = "sherpany"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label: lower-case letters, digits and '-', at most 63 characters."
  }
}

variable "image" {
  description = "The sherpany image: `name` (default ghcr.io/sherpany/sherpany), `tag` (the release version) and, for production, `digest` (sha256:…), which pins the exact image whatever the tag points to."
  type = object({
    name   = optional(string, "ghcr.io/sherpany/sherpany")
    tag    = optional(string, "0.1.0")
    digest = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = can(regex("^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$", var.image.name))
    error_message = "image.name must be an image reference without tag or digest, e.g. ghcr.io/sherpany/sherpany."
  }
  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image.tag)) && var.image.tag != "latest"
    error_message = "image.tag must be a version tag (not \"latest\"): letters, digits, '_', '.', '-', at most 128 characters."
  }
  validation {
    condition     = var.image.digest == null || can(regex("^sha256:[a-f0-9]{64}$", var.image.digest))
    error_message = "image.digest must be null or sha256: followed by 64 lower-case hex digits."
  }
  validation {
    # The release overlay's placeholder: no registry serves it.
    condition     = var.image.digest != "sha256:${join("", [for i in range(64) : "0"])}"
    error_message = "image.digest is the all-zero placeholder: set the digest the release pushed (its rendered manifests and the registry name it)."
  }
}

variable "replicas" {
  description = "Bounds of the HorizontalPodAutoscaler, which owns the Deployment's replica count (it scales on CPU at 70 %). Keep `min` at 2 or more in production, so that a drain or rollout never leaves no pod."
  type = object({
    min = number
    max = number
  })
  default  = { min = 2, max = 6 }
  nullable = false

  validation {
    condition     = floor(var.replicas.min) == var.replicas.min && floor(var.replicas.max) == var.replicas.max
    error_message = "replicas.min and replicas.max must be whole numbers."
  }
  validation {
    condition     = var.replicas.min >= 1 && var.replicas.max >= var.replicas.min && var.replicas.max <= 100
    error_message = "replicas must satisfy 1 <= min <= max <= 100."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of serve, migrate and seed (pino levels)."
  type        = string
  default     = "info"
  nullable    = false

  validation {
    condition     = contains(["fatal", "error", "warn", "info", "debug", "trace", "silent"], var.log_level)
    error_message = "log_level must be one of fatal, error, warn, info, debug, trace, silent."
  }
}

variable "database" {
  description = <<-EOT
    Where PostgreSQL runs. `mode`: `in-cluster` (one PostgreSQL StatefulSet, component postgres),
    `cloudnativepg` (a three-instance CloudNativePG Cluster; needs the operator) or `external`
    (a managed database reached with the `uri` of the credentials Secret, component external-db).
    `ca_bundle` (PEM, required with `external`) is what the database's certificate is verified
    against: sslmode=verify-full, and no URL can ask for less. `image` replaces the PostgreSQL image of
    in-cluster or cloudnativepg (pin it by digest in production), null keeps the manifests' one.
  EOT
  type = object({
    mode      = string
    ca_bundle = optional(string)
    image     = optional(string)
  })
  default  = { mode = "in-cluster" }
  nullable = false

  validation {
    condition     = contains(["in-cluster", "cloudnativepg", "external"], var.database.mode)
    error_message = "database.mode must be one of in-cluster, cloudnativepg, external."
  }
  validation {
    condition     = var.database.mode != "external" || var.database.ca_bundle != null
    error_message = "database.mode external needs database.ca_bundle (PEM), e.g. file(\"global-bundle.pem\"): sherpany reaches an external database only over TLS that verifies its certificate and host name (sslmode=verify-full)."
  }
  validation {
    condition     = var.database.ca_bundle == null || var.database.mode == "external"
    error_message = "database.ca_bundle applies to mode external only (cloudnativepg brings its own CA; in-cluster runs without TLS inside the namespace)."
  }
  validation {
    condition     = var.database.ca_bundle == null || can(regex("-----BEGIN CERTIFICATE-----", coalesce(var.database.ca_bundle, "-")))
    error_message = "database.ca_bundle must hold PEM certificates (-----BEGIN CERTIFICATE-----), e.g. file(\"global-bundle.pem\")."
  }
  validation {
    condition     = var.database.image == null || var.database.mode != "external"
    error_message = "database.image applies to modes in-cluster and cloudnativepg only: an external database runs no image here."
  }
  validation {
    condition     = var.database.image == null || can(regex("^[a-z0-9][A-Za-z0-9._/:-]*(@sha256:[a-f0-9]{64})?$", coalesce(var.database.image, "-")))
    error_message = "database.image must be an image reference, e.g. ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie@sha256:…."
  }
  validation {
    condition     = !endswith(coalesce(var.database.image, "-"), "@sha256:${join("", [for i in range(64) : "0"])}")
    error_message = "database.image ends in the all-zero placeholder digest: resolve the tag's digest, e.g. crane digest ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie."
  }
}

variable "credentials" {
  description = <<-EOT
    How the database credentials reach the pods (always as the files of a Secret, read through
    *_FILE settings). `source`: `secret` (the module creates Secret `sherpany-database` from
    `database_passwords` or `database_url`), `existing-secret` (you create Secret
    `sherpany-database` in the namespace beforehand, keys `superuser-password`,
    `migrate-password` and `serve-password` for in-cluster, `uri` for external), `external-secret` (an ExternalSecret makes it from your secret manager;
    `external_secret` says which store and key) or `operator` (cloudnativepg only: the
    operator generates Secret `sherpany-db-app`, the owner's; the module makes Secret
    `sherpany-db-serve`, type kubernetes.io/basic-auth, from `database_passwords.serve`).
  EOT
  type = object({
    source = string
    external_secret = optional(object({
      store_kind = optional(string, "ClusterSecretStore")
      store_name = optional(string, "sherpany")
      remote_key = optional(string, "sherpany/database")
    }), {})
  })
  default  = { source = "secret" }
  nullable = false

  validation {
    condition     = contains(["secret", "existing-secret", "external-secret", "operator"], var.credentials.source)
    error_message = "credentials.source must be one of secret, existing-secret, external-secret, operator."
  }
  validation {
    condition     = (var.credentials.source == "operator") == (var.database.mode == "cloudnativepg")
    error_message = "credentials.source must be \"operator\" exactly when database.mode is \"cloudnativepg\": the operator generates that database's credentials, and nothing else does."
  }
  validation {
    condition     = contains(["SecretStore", "ClusterSecretStore"], var.credentials.external_secret.store_kind)
    error_message = "credentials.external_secret.store_kind must be SecretStore or ClusterSecretStore."
  }
  validation {
    condition     = length(var.credentials.external_secret.store_name) > 0 && length(var.credentials.external_secret.remote_key) > 0
    error_message = "credentials.external_secret.store_name and remote_key must not be empty."
  }
}

variable "database_passwords" {
  description = "Passwords of the database roles, each at least 16 characters and all different: `superuser` (the in-cluster image's postgres user; only PostgreSQL's pod reads it), `migrate` (sherpany_migrate, owner of the schema: the migrate init container and the seed Job) and `serve` (sherpany_serve, read-only: serve). With database.mode in-cluster and credentials.source secret, all three, in the Secret sherpany-database the module creates (keys superuser-password, migrate-password, serve-password). With cloudnativepg, `serve` alone (its operator owns the owner's password), in the Secret sherpany-db-serve the module creates (type kubernetes.io/basic-auth, username sherpany_serve), from which the operator sets the role's password. Null otherwise. They end up in the Terraform state: protect the state, or prefer external-secret."
  type = object({
    superuser = optional(string)
    migrate   = optional(string)
    serve     = string
  })
  default   = null
  sensitive = true

  validation {
    condition     = (var.database_passwords != null) == ((var.database.mode == "in-cluster" && var.credentials.source == "secret") || var.database.mode == "cloudnativepg")
    error_message = "database_passwords is required when database.mode is in-cluster and credentials.source is secret, or when database.mode is cloudnativepg (serve alone), and must be null otherwise."
  }
  validation {
    # A conditional evaluates only the branch it takes, so null is safe here.
    condition = var.database_passwords == null ? true : (
      (var.database_passwords.superuser != null && var.database_passwords.migrate != null) == (var.database.mode == "in-cluster")
    )
    error_message = "database_passwords: in-cluster takes superuser, migrate and serve; cloudnativepg takes serve alone (its operator makes the owner's password, and no superuser password leaves it)."
  }
  validation {
    condition = var.database_passwords == null ? true : alltrue([
      for password in compact([var.database_passwords.superuser, var.database_passwords.migrate, var.database_passwords.serve]) :
      length(password) >= 16
    ])
    error_message = "database_passwords.superuser, .migrate and .serve must each be at least 16 characters (e.g. openssl rand -hex 24)."
  }
  validation {
    # The same password for two roles would let the read-only one log in as the owner.
    condition = var.database_passwords == null ? true : length(distinct(compact([
      var.database_passwords.superuser, var.database_passwords.migrate, var.database_passwords.serve,
    ]))) == length(compact([var.database_passwords.superuser, var.database_passwords.migrate, var.database_passwords.serve]))
    error_message = "database_passwords.superuser, .migrate and .serve must all differ: one role must not be able to log in as another."
  }
}

variable "database_url" {
  description = "postgres:// URL of the external database (with user and password), put in the Secret the module creates when database.mode is external and credentials.source is secret; null otherwise. It ends up in the Terraform state: protect the state, or prefer external-secret."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = (var.database_url != null) == (var.database.mode == "external" && var.credentials.source == "secret")
    error_message = "database_url is required when database.mode is external and credentials.source is secret, and must be null otherwise."
  }
  validation {
    condition     = var.database_url == null || can(regex("^postgres(ql)?://", coalesce(var.database_url, "-")))
    error_message = "database_url must start with postgres:// or postgresql://."
  }
}

variable "api_auth" {
  description = "Bearer-token authentication of /users (component api-tokens): `none` (/users is open, as the original app's was), `secret` (the module makes Secret `sherpany-api-tokens` from `api_token_hashes`) or `existing-secret` (you make that Secret, key `tokens`, e.g. with an ExternalSecret). The Secret is mounted as a directory, so an updated one reaches running pods without a restart."
  type        = string
  default     = "none"
  nullable    = false

  validation {
    condition     = contains(["none", "secret", "existing-secret"], var.api_auth)
    error_message = "api_auth must be one of none, secret, existing-secret."
  }
}

variable "api_token_hashes" {
  description = "The token file when api_auth is secret: one `<hex sha256 of the token> [name]` line per accepted token (blank lines and # comments allowed), e.g. file(\"api-tokens\"); null otherwise. Only hashes: a token cannot be recovered from it, but it is sensitive all the same."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = (var.api_token_hashes != null) == (var.api_auth == "secret")
    error_message = "api_token_hashes is required when api_auth is secret, and must be null otherwise."
  }
  validation {
    # The lines that are neither blank nor comments: at least one, each a hash.
    condition = var.api_token_hashes == null ? true : alltrue(concat(
      [length([for line in split("\n", coalesce(var.api_token_hashes, "-")) : line if trimspace(line) != "" && !startswith(trimspace(line), "#")]) > 0],
      [for line in split("\n", coalesce(var.api_token_hashes, "-")) : can(regex("^[0-9A-Fa-f]{64}([ \t].*)?$", trimspace(line))) if trimspace(line) != "" && !startswith(trimspace(line), "#")],
    ))
    error_message = "api_token_hashes must hold at least one line '<64 hex digits: the SHA-256 of a token> [name]' (make one with: printf %s \"$token\" | sha256sum), and only such lines, blank lines and # comments."
  }
}

variable "ingress" {
  description = "The public Ingress with TLS (routes /users and /health only), or null for none. `host`: the public DNS name; `tls_secret_name`: the certificate's Secret (made by cert-manager through `annotations`, or by hand); `class_name`: the IngressClass."
  type = object({
    host            = string
    tls_secret_name = optional(string, "sherpany-tls")
    class_name      = optional(string, "nginx")
    annotations     = optional(map(string), {})
  })
  default = null

  validation {
    condition     = var.ingress == null || can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", try(var.ingress.host, "")))
    error_message = "ingress.host must be a fully qualified DNS name in lower case, e.g. api.example.com."
  }
  validation {
    condition     = var.ingress == null || can(regex("^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$", try(var.ingress.tls_secret_name, "")))
    error_message = "ingress.tls_secret_name must be a Kubernetes object name."
  }
  validation {
    condition     = var.ingress == null || can(regex("^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$", try(var.ingress.class_name, "")))
    error_message = "ingress.class_name must be a Kubernetes object name."
  }
}

variable "gateway" {
  description = "An HTTPRoute (component gateway, Gateway API) for /users and /health, attached to a Gateway that terminates TLS, or null for none. `host`: the public DNS name; `name`, `namespace` and `section_name`: the Gateway and its listener (parentRefs), whose allowedRoutes must admit this namespace."
  type = object({
    host         = string
    name         = optional(string, "gateway")
    namespace    = optional(string, "gateway-system")
    section_name = optional(string, "https")
  })
  default = null

  validation {
    condition     = var.gateway == null || can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", try(var.gateway.host, "")))
    error_message = "gateway.host must be a fully qualified DNS name in lower case, e.g. api.example.com."
  }
  validation {
    condition     = var.gateway == null || can(regex("^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$", try(var.gateway.name, "")))
    error_message = "gateway.name must be a Kubernetes object name."
  }
  validation {
    condition     = var.gateway == null || can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", try(var.gateway.namespace, "")))
    error_message = "gateway.namespace must be a DNS label."
  }
  validation {
    condition     = var.gateway == null || can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", try(var.gateway.section_name, "")))
    error_message = "gateway.section_name must be a listener name (a DNS label)."
  }
}

variable "dns_ip_blocks" {
  description = "Addresses (CIDRs) of DNS resolvers the pods may also query on port 53, beyond the kube-dns pods, NodeLocal DNSCache's 169.254.20.10 and OpenShift's DNS pods that the NetworkPolicies always allow: e.g. the kube-dns Service's ClusterIP when NodeLocal DNSCache answers on it (iptables mode), or another link-local address (kubespray's 169.254.25.10/32)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for cidr in var.dns_ip_blocks : can(cidrhost(cidr, 0))])
    error_message = "dns_ip_blocks must hold CIDRs, e.g. 10.96.0.10/32."
  }
}

variable "seed_job" {
  description = "Add the suspended CronJob sherpany-seed, the template of an ad hoc `sherpany seed` Job (kubectl create job --from=cronjob/sherpany-seed …)."
  type        = bool
  default     = false
  nullable    = false
}

variable "monitoring" {
  description = "Add the monitoring component: ServiceMonitor, PrometheusRule and Grafana dashboard ConfigMap. Needs the Prometheus Operator's CRDs in the cluster."
  type        = bool
  default     = false
  nullable    = false
}

variable "release" {
  description = "A production deployment: the sherpany image must be pinned by `image.digest`, and PostgreSQL's (in-cluster, cloudnativepg) by a digest in `database.image`, so that what runs is exactly what the release pushed."
  type        = bool
  default     = false
  nullable    = false

  validation {
    condition     = !var.release || var.image.digest != null
    error_message = "release is true but image.digest is not set: pin the image with the digest the release pushed (sha256:…)."
  }
  validation {
    condition     = !var.release || var.database.mode == "external" || can(regex("@sha256:[a-f0-9]{64}$", coalesce(var.database.image, "-")))
    error_message = "release is true but database.image is not pinned by a digest: set it to <image>:<tag>@sha256:… (crane digest <image>:<tag> resolves it)."
  }
}

variable "kubernetes_dir" {
  description = "Path of deploy/kubernetes, relative to the directory Terraform runs in; null for the copy next to this module (the usual case, also when the module comes from git)."
  type        = string
  default     = null
}

variable "backup" {
  description = <<-EOT
    Backups of the database. `schedule`: when, as a five-field cron in UTC. in-cluster: a
    pg_dump CronJob to its own volume keeping the newest `keep` dumps. cloudnativepg: the
    barman-cloud plugin archives the WAL and takes a base backup on `schedule` into the
    object store `destination_path` (s3://bucket/path; `endpoint_url` for an S3-compatible
    store other than AWS; access key in Secret sherpany-backup-s3), keeping `retention`
    (30d, 4w, 6m), under the folder `server_name`; null `destination_path` means no
    backups. `recover_from`: bootstrap a new Cluster from the backups in that folder
    (to `recovery_target_time`, RFC 3339, or to the end of the archive when null); its
    `server_name` must then differ. The settings of the other mode are ignored.
  EOT
  type = object({
    schedule             = optional(string, "0 3 * * *")
    keep                 = optional(number, 7)
    retention            = optional(string, "30d")
    destination_path     = optional(string)
    endpoint_url         = optional(string)
    server_name          = optional(string, "sherpany-db")
    recover_from         = optional(string)
    recovery_target_time = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = can(regex("^[^ ]+( [^ ]+){4}$", var.backup.schedule))
    error_message = "backup.schedule must be a five-field cron expression, e.g. \"0 3 * * *\"."
  }
  validation {
    condition     = floor(var.backup.keep) == var.backup.keep && var.backup.keep >= 1
    error_message = "backup.keep must be a whole number of 1 or more."
  }
  validation {
    condition     = can(regex("^[1-9][0-9]*[dwm]$", var.backup.retention))
    error_message = "backup.retention must be a number and d, w or m (days, weeks, months), e.g. 30d."
  }
  validation {
    condition     = var.backup.destination_path == null || can(regex("^(s3|gs|https)://", coalesce(var.backup.destination_path, "-")))
    error_message = "backup.destination_path must be an object store URL: s3://bucket/path, gs://bucket/path or https://account.blob.core.windows.net/container/path."
  }
  validation {
    condition     = var.backup.destination_path != null || var.backup.recover_from == null
    error_message = "backup.recover_from needs backup.destination_path: the object store the backups are read from."
  }
  validation {
    condition     = var.backup.recover_from == null || var.backup.recover_from != var.backup.server_name
    error_message = "backup.server_name must differ from backup.recover_from: barman-cloud refuses to archive into a folder that holds another cluster's WAL."
  }
  validation {
    condition     = var.backup.recovery_target_time == null || var.backup.recover_from != null
    error_message = "backup.recovery_target_time applies only with backup.recover_from."
  }
  validation {
    condition     = var.backup.recovery_target_time == null || can(timeadd(coalesce(var.backup.recovery_target_time, "-"), "0s"))
    error_message = "backup.recovery_target_time must be an RFC 3339 time, e.g. 2026-12-07T03:15:00Z."
  }
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.backup.server_name)) && (var.backup.recover_from == null || can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", coalesce(var.backup.recover_from, "-"))))
    error_message = "backup.server_name and backup.recover_from must be folder names of lower-case letters, digits and '-'."
  }
}

variable "wait" {
  description = "Wait, on each apply, until the Deployment (and the in-cluster PostgreSQL StatefulSet) has rolled out: its init container migrated the database and its pods are ready."
  type        = bool
  default     = true
  nullable    = false
}

variable "timeout" {
  description = "How long an apply waits for objects to be created or updated (a Terraform duration such as \"10m\") before it fails."
  type        = string
  default     = "10m"
  nullable    = false

  validation {
    condition     = can(regex("^([0-9]+h)?([0-9]+m)?([0-9]+s)?$", var.timeout)) && var.timeout != ""
    error_message = "timeout must be a duration such as 10m, 1h or 90s."
  }
}

variable "delete_data" {
  description = "Let terraform destroy (and a change that drops them) delete the objects that hold the data: the namespace, whose deletion deletes every volume claim in it (the in-cluster database's and its dumps'), the in-cluster backup volume claim, and the CloudNativePG Cluster, which owns its volumes. false (the default) keeps them in resources with prevent_destroy: a plan that would delete one stops with an error, and deletes nothing. See the README's Remove section."
  type        = bool
  default     = false
  nullable    = false
}
