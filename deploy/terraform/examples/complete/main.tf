# An example root module: configures the provider for one cluster and deploys
# sherpany with the choices in terraform.tfvars (copy
# terraform.tfvars.example). Run it from this directory.

provider "kustomization" {
  kubeconfig_path = var.kubeconfig_path
  context         = var.kube_context
}

module "sherpany" {
  source = "../../modules/sherpany"

  namespace = var.namespace
  image     = var.image
  replicas  = var.replicas
  log_level = var.log_level
  database = {
    mode      = var.database.mode
    image     = var.database.image
    ca_bundle = var.database_ca_bundle_file == null ? var.database.ca_bundle : file(var.database_ca_bundle_file)
  }
  credentials        = var.credentials
  database_passwords = var.database_passwords
  database_url       = var.database_url
  api_auth           = var.api_auth
  api_token_hashes   = var.api_token_hashes_file == null ? null : file(var.api_token_hashes_file)
  ingress            = var.ingress
  gateway            = var.gateway
  dns_ip_blocks      = var.dns_ip_blocks
  release            = var.release
  seed_job           = var.seed_job
  monitoring         = var.monitoring
}
