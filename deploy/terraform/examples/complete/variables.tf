# The cluster to deploy to, then the module's choices (described in full in
# ../../modules/sherpany/variables.tf, which also validates them).

variable "kubeconfig_path" {
  description = "Path of the kubeconfig file with the cluster's credentials."
  type        = string
  default     = "~/.kube/config"
  nullable    = false
}

variable "kube_context" {
  description = "The kubeconfig context to deploy to; empty for the current context."
  type        = string
  default     = ""
  nullable    = false
}

variable "namespace" {
  description = "Namespace of every namespaced object."
  type        = string
  default     = "sherpany"
}

variable "image" {
  description = "The sherpany image: name, tag and (for production) digest."
  type = object({
    name   = optional(string, "ghcr.io/sherpany/sherpany")
    tag    = optional(string, "0.1.0")
    digest = optional(string)
  })
  default = {}
}

variable "replicas" {
  description = "Bounds of the HorizontalPodAutoscaler."
  type = object({
    min = number
    max = number
  })
  default = { min = 2, max = 6 }
}

variable "log_level" {
  description = "LOG_LEVEL of serve, migrate and seed."
  type        = string
  default     = "info"
}

variable "database" {
  description = "Where PostgreSQL runs: mode in-cluster, cloudnativepg or external; ca_bundle (PEM) for external; image for in-cluster and cloudnativepg."
  type = object({
    mode      = string
    ca_bundle = optional(string)
    image     = optional(string)
  })
  default = { mode = "in-cluster" }
}

variable "database_ca_bundle_file" {
  description = "Path of the external database's CA bundle (PEM), read into database.ca_bundle; a tfvars file can't call file() itself."
  type        = string
  default     = null
}

variable "credentials" {
  description = "How the database credentials arrive: source secret, existing-secret, external-secret (with external_secret's store and key) or operator (cloudnativepg)."
  type = object({
    source = string
    external_secret = optional(object({
      store_kind = optional(string, "ClusterSecretStore")
      store_name = optional(string, "sherpany")
      remote_key = optional(string, "sherpany/database")
    }), {})
  })
  default = { source = "secret" }
}

variable "database_passwords" {
  description = "Passwords of the database roles (set TF_VAR_database_passwords rather than writing them in a file): in-cluster with credentials.source secret, superuser, migrate and serve, all different; cloudnativepg, serve alone (the read-only role's Secret sherpany-db-serve)."
  type = object({
    superuser = optional(string)
    migrate   = optional(string)
    serve     = string
  })
  default   = null
  sensitive = true
}

variable "database_url" {
  description = "postgres:// URL of the external database when credentials.source is secret (set TF_VAR_database_url rather than writing it in a file)."
  type        = string
  default     = null
  sensitive   = true
}

variable "api_auth" {
  description = "Bearer tokens for /users: none, secret (from api_token_hashes_file) or existing-secret."
  type        = string
  default     = "none"
}

variable "api_token_hashes_file" {
  description = "Path of the token file ('<hex sha256> [name]' lines) when api_auth is secret."
  type        = string
  default     = null
  sensitive   = true
}

variable "ingress" {
  description = "The public Ingress (host, tls_secret_name, class_name, annotations), or null for none."
  type = object({
    host            = string
    tls_secret_name = optional(string, "sherpany-tls")
    class_name      = optional(string, "nginx")
    annotations     = optional(map(string), {})
  })
  default = null
}

variable "gateway" {
  description = "An HTTPRoute to a Gateway that terminates TLS (host, name, namespace, section_name), or null for none."
  type = object({
    host         = string
    name         = optional(string, "gateway")
    namespace    = optional(string, "gateway-system")
    section_name = optional(string, "https")
  })
  default = null
}

variable "dns_ip_blocks" {
  description = "More DNS resolvers' CIDRs the NetworkPolicies allow (see the module's variable)."
  type        = list(string)
  default     = []
}

variable "release" {
  description = "A production deployment: refuse to plan unless every image is pinned by digest."
  type        = bool
  default     = false
}

variable "seed_job" {
  description = "Add the template of an ad hoc `sherpany seed` Job."
  type        = bool
  default     = true
}

variable "monitoring" {
  description = "Add the ServiceMonitor, alert rules and Grafana dashboard (needs the Prometheus Operator)."
  type        = bool
  default     = false
}
