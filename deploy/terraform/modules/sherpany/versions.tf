terraform {
  # Validations that refer to other variables need 1.9.
  required_version = "~> 1.9"

  required_providers {
    # Builds the kustomization with kustomize's own library and applies each
    # object with server-side dry-run plans. The module configures no
    # provider: the root module does (see ../../examples).
    kustomization = {
      source  = "kbst/kustomization"
      version = "~> 0.9.6"
    }
  }
}
