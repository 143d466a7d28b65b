# Applies the kustomization that ../kustomization maps the variables to: the
# kustomize build of deploy/kubernetes's base and chosen components, object by
# object. No manifest is written here.

module "kustomization" {
  source = "../kustomization"

  namespace          = var.namespace
  image              = var.image
  replicas           = var.replicas
  log_level          = var.log_level
  database           = var.database
  credentials        = var.credentials
  database_passwords = var.database_passwords
  database_url       = var.database_url
  api_auth           = var.api_auth
  api_token_hashes   = var.api_token_hashes
  ingress            = var.ingress
  gateway            = var.gateway
  dns_ip_blocks      = var.dns_ip_blocks
  seed_job           = var.seed_job
  monitoring         = var.monitoring
  kubernetes_dir     = var.kubernetes_dir
  release            = var.release
  backup             = var.backup
}

locals {
  kustomization = module.kustomization.kustomization
}

# The provider's arguments are kustomization.yaml's fields in snake_case.
data "kustomization_overlay" "sherpany" {
  namespace  = local.kustomization.namespace
  resources  = local.kustomization.resources
  components = local.kustomization.components

  dynamic "images" {
    for_each = local.kustomization.images
    content {
      name     = images.value.name
      new_name = lookup(images.value, "newName", null)
      new_tag  = lookup(images.value, "newTag", null)
      digest   = lookup(images.value, "digest", null)
    }
  }

  dynamic "config_map_generator" {
    for_each = local.kustomization.configMapGenerator
    content {
      name     = config_map_generator.value.name
      behavior = config_map_generator.value.behavior
      literals = config_map_generator.value.literals
    }
  }

  # Iterates over names only: the values are sensitive, and Terraform refuses
  # a sensitive for_each.
  dynamic "secret_generator" {
    for_each = local.kustomization.secretGenerator
    content {
      name     = secret_generator.value.name
      type     = lookup(secret_generator.value, "type", null)
      literals = module.kustomization.secret_literals[secret_generator.value.name]
      options {
        labels                   = secret_generator.value.options.labels
        disable_name_suffix_hash = lookup(secret_generator.value.options, "disableNameSuffixHash", null)
      }
    }
  }

  dynamic "patches" {
    for_each = local.kustomization.patches
    content {
      target = patches.value.target
      patch  = patches.value.patch
    }
  }
}

locals {
  overlay = data.kustomization_overlay.sherpany
  # Secrets' manifests stay out of plans and logs.
  sensitive_kinds = ["_/Secret"]

  # The provider's ids are group/Kind/namespace/name. The objects that hold
  # the data go to the data_p* resources, whose prevent_destroy stops any
  # plan that would delete them, unless delete_data is true.
  kept = var.delete_data ? [] : module.kustomization.data_objects
  kept_ids = [
    for id in setunion(local.overlay.ids_prio[0], local.overlay.ids_prio[1]) : id
    if contains(local.kept, "${split("/", id)[1]}/${split("/", id)[3]}")
  ]
}

# The namespace, kept unless delete_data (deleting it deletes every volume
# claim in it).
resource "kustomization_resource" "data_p0" {
  for_each = setintersection(local.overlay.ids_prio[0], local.kept_ids)

  manifest = local.overlay.manifests[each.value]

  lifecycle {
    prevent_destroy = true
  }

  timeouts {
    create = var.timeout
    update = var.timeout
  }
}

# The in-cluster backup volume claim and the CloudNativePG Cluster (which
# owns its volumes), kept unless delete_data.
resource "kustomization_resource" "data_p1" {
  for_each = setintersection(local.overlay.ids_prio[1], local.kept_ids)

  manifest = local.overlay.manifests[each.value]

  lifecycle {
    prevent_destroy = true
  }

  timeouts {
    create = var.timeout
    update = var.timeout
  }

  depends_on = [kustomization_resource.p0, kustomization_resource.data_p0]
}

# In three passes, as the provider recommends: Namespaces and CRDs first, then
# everything else, then webhook configurations.
resource "kustomization_resource" "p0" {
  for_each = setsubtract(local.overlay.ids_prio[0], local.kept_ids)

  manifest = (
    contains(local.sensitive_kinds, regex("(?P<group_kind>.*/.*)/.*/.*", each.value)["group_kind"])
    ? sensitive(local.overlay.manifests[each.value])
    : local.overlay.manifests[each.value]
  )

  timeouts {
    create = var.timeout
    update = var.timeout
  }
}

resource "kustomization_resource" "p1" {
  for_each = setsubtract(local.overlay.ids_prio[1], local.kept_ids)

  manifest = (
    contains(local.sensitive_kinds, regex("(?P<group_kind>.*/.*)/.*/.*", each.value)["group_kind"])
    ? sensitive(local.overlay.manifests[each.value])
    : local.overlay.manifests[each.value]
  )
  # A Deployment is ready once its init container has migrated the database
  # and /ready answers 200: an apply that returns has a working service.
  wait = var.wait

  timeouts {
    create = var.timeout
    update = var.timeout
  }

  depends_on = [kustomization_resource.p0, kustomization_resource.data_p0]
}

resource "kustomization_resource" "p2" {
  for_each = local.overlay.ids_prio[2]

  manifest = (
    contains(local.sensitive_kinds, regex("(?P<group_kind>.*/.*)/.*/.*", each.value)["group_kind"])
    ? sensitive(local.overlay.manifests[each.value])
    : local.overlay.manifests[each.value]
  )

  timeouts {
    create = var.timeout
    update = var.timeout
  }

  depends_on = [kustomization_resource.p1, kustomization_resource.data_p1]
}
