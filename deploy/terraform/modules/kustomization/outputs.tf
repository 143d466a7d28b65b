output "kustomization" {
  description = "The kustomization for the chosen variables, as an object in kustomization.yaml's schema (camelCase fields), without secret values: secretGenerator entries name their Secret only (values in secret_literals). Paths are relative to the directory Terraform runs in."
  value       = local.kustomization

  precondition {
    condition = alltrue(concat(
      [fileexists("${local.kubernetes_dir}/base/kustomization.yaml")],
      [for name in local.components : fileexists("${local.kubernetes_dir}/components/${name}/kustomization.yaml")],
    ))
    error_message = "deploy/kubernetes lacks the base or a chosen component (${join(", ", local.components)}) under ${local.kubernetes_dir}: set kubernetes_dir, or use a checkout that has them."
  }
}

output "secret_literals" {
  description = "The literals (key=value) of each generated Secret, by Secret name: the values the kustomization output leaves out."
  value       = local.secret_literals
  sensitive   = true
}

output "kustomization_yaml" {
  description = "The complete kustomization, secret values included, as the text of a kustomization.yaml placed in the directory Terraform runs in (`kubectl kustomize` of it renders what ../sherpany applies)."
  value       = yamlencode(local.kustomization_with_secrets)
  sensitive   = true
}

output "components" {
  description = "Names of the deploy/kubernetes components chosen, in the order they are applied."
  value       = local.components
}

output "secret_name" {
  description = "Name of the Secret (before kustomize's hash suffix when the module generates it) that holds the database credentials."
  value       = local.secret_name
}

output "backup" {
  description = "The backup settings with their defaults filled in (the Ansible role's sherpany_backup has the same keys and defaults)."
  value       = var.backup
}

output "data_objects" {
  description = "The objects that hold the data or own its volumes, as Kind/name: the namespace (deleting it deletes every volume claim in it), the in-cluster backup volume claim, the CloudNativePG Cluster (its PVCs are owned by it). ../sherpany keeps them out of terraform destroy unless delete_data is true."
  value = concat(
    ["Namespace/${var.namespace}"],
    var.database.mode == "in-cluster" ? ["PersistentVolumeClaim/sherpany-postgres-backup"] : [],
    var.database.mode == "cloudnativepg" ? ["Cluster/sherpany-db"] : [],
  )
}
