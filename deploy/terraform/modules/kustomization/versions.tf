# Built-in functions only, and no provider: `terraform init` and `apply` run
# this module offline, which is how the tests prove its mapping (see
# ../../README.md).
terraform {
  # Validations that refer to other variables need 1.9.
  required_version = "~> 1.9"
}
