terraform {
  required_version = "~> 1.9"

  required_providers {
    kustomization = {
      source  = "kbst/kustomization"
      version = "~> 0.9.6"
    }
  }

  # Keep the state somewhere shared and encrypted: it holds the database
  # Secret when credentials.source is "secret". For example:
  # backend "s3" { bucket = "…", key = "sherpany/terraform.tfstate", encrypt = true }
}
