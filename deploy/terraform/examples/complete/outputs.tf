output "namespace" {
  description = "The namespace sherpany runs in."
  value       = module.sherpany.namespace
}

output "image" {
  description = "The image that runs."
  value       = module.sherpany.image
}

output "url" {
  description = "Public URL of /users, or null without an Ingress."
  value       = module.sherpany.url
}

output "api_service" {
  description = "In-cluster address of the API."
  value       = module.sherpany.api_service
}

output "seed_command" {
  description = "The command that seeds the database once, or null without the seed Job template."
  value       = module.sherpany.seed_command
}
