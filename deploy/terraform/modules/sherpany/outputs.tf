output "namespace" {
  description = "The namespace the objects were applied to."
  value       = var.namespace
}

output "image" {
  description = "The sherpany image reference the Deployment, its init container and the seed Job run."
  value       = "${var.image.name}:${var.image.tag}${var.image.digest == null ? "" : "@${var.image.digest}"}"
}

output "components" {
  description = "The deploy/kubernetes components applied on top of the base, in order."
  value       = module.kustomization.components
}

output "kustomization" {
  description = "The kustomization applied, in kustomization.yaml's schema, without secret values (to compare with `kubectl kustomize` of an overlay, or to debug a plan)."
  value       = module.kustomization.kustomization
}

output "object_ids" {
  description = "IDs (group_version_kind|namespace|name) of every object the module applies."
  value       = sort(tolist(data.kustomization_overlay.sherpany.ids))
}

output "api_service" {
  description = "In-cluster address of the API (Service sherpany, port 80: /users, /health)."
  value       = "http://sherpany.${var.namespace}.svc"
}

output "admin_service" {
  description = "In-cluster address of the admin port (Service sherpany-admin, port 9090: /metrics, /health, /ready), for Prometheus."
  value       = "http://sherpany-admin.${var.namespace}.svc:9090"
}

output "url" {
  description = "Public URL of the API through the Ingress (or else the HTTPRoute's Gateway), or null without either."
  value       = var.ingress != null ? "https://${var.ingress.host}/users" : var.gateway != null ? "https://${var.gateway.host}/users" : null
}

output "database_secret_name" {
  description = "The Secret holding the database credentials: made by the module (name plus kustomize's hash suffix), by you (existing-secret), by the External Secrets Operator, or by CloudNativePG."
  value       = module.kustomization.secret_name
}

output "seed_command" {
  description = "The command that runs `sherpany seed` once as a Job and follows it, or null when seed_job is false."
  value       = var.seed_job ? "kubectl -n ${var.namespace} create job --from=cronjob/sherpany-seed sherpany-seed-$(date +%s)" : null
}
