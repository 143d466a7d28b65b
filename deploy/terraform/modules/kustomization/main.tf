# The mapping from this module's variables to one kustomization of
# deploy/kubernetes: the base, the components chosen, and the image,
# namespace, replica bounds and settings on top. It renders nothing itself:
# ../sherpany hands the result to the kustomization provider, and the tests
# write it to a kustomization.yaml and run `kubectl kustomize` on it. Either
# way the objects come from deploy/kubernetes, the one source of truth.

locals {
  # Paths in a kustomization are relative to the kustomization's directory;
  # the kustomization provider puts its virtual one in the directory
  # Terraform runs in, which is also what path.module is relative to.
  kubernetes_dir = coalesce(var.kubernetes_dir, "${path.module}/../../../kubernetes")

  # The image every manifest names; kustomize's images transformer rewrites it.
  manifest_image = "ghcr.io/sherpany/sherpany"

  database_component = {
    in-cluster    = "postgres"
    cloudnativepg = "cloudnativepg"
    # Always with its CA bundle (a validation requires one): verify-full, and
    # PG_SSLMODE_MIN keeps a URL's sslmode from asking for less.
    external = "external-db"
  }[var.database.mode]

  # seed-job copies the Deployment's image, settings and secret volumes, so it
  # comes after every component that changes them (its README says so).
  components = compact([
    local.database_component,
    local.cloudnativepg_backup ? "cloudnativepg-backup" : null,
    local.cloudnativepg_backup && var.backup.recover_from != null ? "cloudnativepg-recovery" : null,
    var.ingress == null ? null : "ingress",
    var.gateway == null ? null : "gateway",
    var.api_auth == "none" ? null : "api-tokens",
    var.credentials.source == "external-secret" ? "external-secret" : null,
    var.monitoring ? "monitoring" : null,
    var.seed_job ? "seed-job" : null,
  ])

  # The Secret the Deployment (and the postgres StatefulSet) mount: the key
  # each database mode reads.
  secret_name = var.credentials.source == "operator" ? "sherpany-db-app" : "sherpany-database"

  image = { for key, value in {
    name    = local.manifest_image
    newName = var.image.name
    newTag  = var.image.tag
    digest  = var.image.digest
  } : key => value if value != null }

  # JSON patches (RFC 6902), written as JSON: kustomize reads both forms.
  replicas_patch = {
    target = { kind = "HorizontalPodAutoscaler", name = "sherpany" }
    patch = jsonencode([
      { op = "replace", path = "/spec/minReplicas", value = var.replicas.min },
      { op = "replace", path = "/spec/maxReplicas", value = var.replicas.max },
    ])
  }

  ingress_patches = var.ingress == null ? [] : [{
    target = { kind = "Ingress", name = "sherpany" }
    patch = jsonencode(concat(
      [
        { op = "replace", path = "/spec/ingressClassName", value = var.ingress.class_name },
        { op = "replace", path = "/spec/rules/0/host", value = var.ingress.host },
        { op = "replace", path = "/spec/tls/0/hosts/0", value = var.ingress.host },
        { op = "replace", path = "/spec/tls/0/secretName", value = var.ingress.tls_secret_name },
      ],
      # The component's Ingress has no annotations: `add` creates the map.
      length(var.ingress.annotations) == 0 ? [] : [
        { op = "add", path = "/metadata/annotations", value = var.ingress.annotations },
      ],
    ))
  }]

  # The HTTPRoute's Gateway (parentRefs) and host; TLS is the Gateway's.
  gateway_patches = var.gateway == null ? [] : [{
    target = { kind = "HTTPRoute", name = "sherpany" }
    patch = jsonencode([
      { op = "replace", path = "/spec/parentRefs/0/name", value = var.gateway.name },
      { op = "replace", path = "/spec/parentRefs/0/namespace", value = var.gateway.namespace },
      { op = "replace", path = "/spec/parentRefs/0/sectionName", value = var.gateway.section_name },
      { op = "replace", path = "/spec/hostnames/0", value = var.gateway.host },
    ])
  }]

  # More DNS resolvers in the first egress rule (DNS) of the app's policy,
  # and of the CloudNativePG instances' (its second).
  dns_patches = length(var.dns_ip_blocks) == 0 ? [] : concat(
    [{
      target = { kind = "NetworkPolicy", name = "sherpany-egress" }
      patch  = jsonencode([for cidr in var.dns_ip_blocks : { op = "add", path = "/spec/egress/0/to/-", value = { ipBlock = { cidr = cidr } } }])
    }],
    local.database_component != "cloudnativepg" ? [] : [{
      target = { kind = "NetworkPolicy", name = "sherpany-db" }
      patch  = jsonencode([for cidr in var.dns_ip_blocks : { op = "add", path = "/spec/egress/1/to/-", value = { ipBlock = { cidr = cidr } } }])
    }],
  )

  external_secret_patches = var.credentials.source != "external-secret" ? [] : [{
    target = { kind = "ExternalSecret", name = "sherpany-database" }
    patch = jsonencode([
      { op = "replace", path = "/spec/secretStoreRef/kind", value = var.credentials.external_secret.store_kind },
      { op = "replace", path = "/spec/secretStoreRef/name", value = var.credentials.external_secret.store_name },
      { op = "replace", path = "/spec/dataFrom/0/extract/key", value = var.credentials.external_secret.remote_key },
    ])
  }]

  # The external-db component generates this ConfigMap with a placeholder.
  # A generator here could not replace it (kustomize runs an overlay's
  # generators before its components), but a patch runs after them, and the
  # name's hash suffix follows the new content, so the pods roll on a change.
  ca_bundle_patches = local.database_component != "external-db" ? [] : [{
    target = { kind = "ConfigMap", name = "sherpany-database-ca" }
    patch = jsonencode([
      { op = "replace", path = "/data/ca.crt", value = var.database.ca_bundle },
    ])
  }]

  # Where each database component names its PostgreSQL image.
  database_image_patches = var.database.image == null ? [] : [{
    target = {
      in-cluster    = { kind = "StatefulSet", name = "sherpany-postgres" }
      cloudnativepg = { kind = "Cluster", name = "sherpany-db" }
    }[var.database.mode]
    patch = jsonencode([{
      op    = "replace"
      path  = var.database.mode == "in-cluster" ? "/spec/template/spec/containers/0/image" : "/spec/imageName"
      value = var.database.image
    }])
  }]

  secret_labels = {
    "app.kubernetes.io/name"       = "sherpany"
    "app.kubernetes.io/instance"   = "sherpany"
    "app.kubernetes.io/part-of"    = "sherpany"
    "app.kubernetes.io/managed-by" = "kustomize"
    "app.kubernetes.io/component"  = "database"
  }

  # cloudnativepg: the password of the read-only role serve connects as,
  # which the operator sets from this Secret (spec.managed.roles) but never
  # makes. The Cluster names it, and kustomize does not rewrite names in a
  # custom resource: no hash suffix. cnpg.io/reload makes the operator
  # notice a new password.
  serve_secret_generators = var.database.mode != "cloudnativepg" ? [] : [{
    name = "sherpany-db-serve"
    type = "kubernetes.io/basic-auth"
    options = {
      disableNameSuffixHash = true
      labels                = merge(local.secret_labels, { "cnpg.io/reload" = "true" })
    }
  }]

  # Backups: the in-cluster CronJob's schedule and count, or the
  # CloudNativePG object store, schedule (the operator's cron has seconds
  # first) and recovery source.
  cloudnativepg_backup = var.database.mode == "cloudnativepg" && var.backup.destination_path != null
  backup_patches = concat(
    var.database.mode != "in-cluster" ? [] : [{
      target = { kind = "CronJob", name = "sherpany-postgres-backup" }
      patch = jsonencode([
        { op = "replace", path = "/spec/schedule", value = var.backup.schedule },
        { op = "test", path = "/spec/jobTemplate/spec/template/spec/containers/0/env/1/name", value = "BACKUP_KEEP" },
        { op = "replace", path = "/spec/jobTemplate/spec/template/spec/containers/0/env/1/value", value = tostring(var.backup.keep) },
      ])
    }],
    !local.cloudnativepg_backup ? [] : [
      {
        target = { kind = "ObjectStore", name = "sherpany-backup" }
        patch = jsonencode(concat(
          [
            { op = "replace", path = "/spec/retentionPolicy", value = var.backup.retention },
            { op = "replace", path = "/spec/configuration/destinationPath", value = var.backup.destination_path },
          ],
          var.backup.endpoint_url == null ? [] : [
            { op = "add", path = "/spec/configuration/endpointURL", value = var.backup.endpoint_url },
          ],
        ))
      },
      {
        target = { kind = "ScheduledBackup", name = "sherpany-db" }
        patch  = jsonencode([{ op = "replace", path = "/spec/schedule", value = "0 ${var.backup.schedule}" }])
      },
      {
        target = { kind = "Cluster", name = "sherpany-db" }
        patch = jsonencode(concat(
          [{ op = "replace", path = "/spec/plugins/0/parameters/serverName", value = var.backup.server_name }],
          var.backup.recover_from == null ? [] : [
            { op = "replace", path = "/spec/externalClusters/0/plugin/parameters/serverName", value = var.backup.recover_from },
          ],
          var.backup.recovery_target_time == null ? [] : [
            { op = "add", path = "/spec/bootstrap/recovery/recoveryTarget", value = { targetTime = var.backup.recovery_target_time } },
          ],
        ))
      },
    ],
  )

  # The backup CronJob runs the server's image: pg_dump must be of the
  # server's major version or newer.
  backup_image_patches = var.database.image == null || var.database.mode != "in-cluster" ? [] : [{
    target = { kind = "CronJob", name = "sherpany-postgres-backup" }
    patch  = jsonencode([{ op = "replace", path = "/spec/jobTemplate/spec/template/spec/containers/0/image", value = var.database.image }])
  }]

  # Everything but secret values: safe to show in a plan and to iterate on.
  kustomization = {
    apiVersion = "kustomize.config.k8s.io/v1beta1"
    kind       = "Kustomization"
    namespace  = var.namespace
    resources  = ["${local.kubernetes_dir}/base"]
    components = [for name in local.components : "${local.kubernetes_dir}/components/${name}"]
    images     = [local.image]
    configMapGenerator = [{
      name     = "sherpany"
      behavior = "merge"
      literals = ["LOG_LEVEL=${var.log_level}"]
    }]
    # Values in output secret_literals, by name.
    secretGenerator = concat(
      var.credentials.source != "secret" ? [] : [{
        name = local.secret_name
        # An overlay's generator gets the namespace but none of the base's labels.
        options = { labels = local.secret_labels }
      }],
      local.serve_secret_generators,
      # Without a name suffix: an update changes the Secret in place, and
      # the kubelet brings it into the running pods, where serve re-reads it.
      var.api_auth != "secret" ? [] : [{
        name    = "sherpany-api-tokens"
        options = { labels = merge(local.secret_labels, { "app.kubernetes.io/component" = "api" }), disableNameSuffixHash = true }
      }],
    )
    patches = concat(
      [local.replicas_patch],
      local.ingress_patches,
      local.gateway_patches,
      local.dns_patches,
      local.external_secret_patches,
      local.ca_bundle_patches,
      local.database_image_patches,
      local.backup_patches,
      local.backup_image_patches,
    )
  }

  # The keys each database mode reads: the postgres component's one password
  # per role (its README), or the external database's URL; for
  # cloudnativepg the read-only role's, in the shape the operator reads; and
  # the API token file.
  secret_literals = merge(
    var.credentials.source != "secret" ? {} : {
      (local.secret_name) = var.database.mode == "in-cluster" ? [
        "superuser-password=${var.database_passwords.superuser}",
        "migrate-password=${var.database_passwords.migrate}",
        "serve-password=${var.database_passwords.serve}",
      ] : ["uri=${var.database_url}"]
    },
    var.database.mode != "cloudnativepg" ? {} : {
      "sherpany-db-serve" = ["username=sherpany_serve", "password=${var.database_passwords.serve}"]
    },
    var.api_auth != "secret" ? {} : { "sherpany-api-tokens" = ["tokens=${var.api_token_hashes}"] },
  )

  # The same kustomization with the secret values in: a kustomization.yaml.
  kustomization_with_secrets = merge(local.kustomization, {
    secretGenerator = [
      for generator in local.kustomization.secretGenerator :
      merge(generator, { literals = local.secret_literals[generator.name] })
    ]
  })
}
