#!/usr/bin/env bash
# Terraform for test/deploy/terraform-*.test.ts. It is not in Debian's
# archive and nothing else is reachable from CI (only npm and apt), so this
# installs nothing: it reports the terraform the machine has (these machines
# carry /usr/local/bin/terraform). Without one, the tests skip only the steps
# that run terraform (fmt and the mapping test) and say so; the HCL checks
# still run.
set -euo pipefail

if path=$(command -v terraform); then
	echo "terraform: $path ($(terraform version 2>/dev/null | head -n 1))"
else
	echo "terraform: not found on PATH; it is not in Debian's archive and cannot be downloaded here," \
		"so the steps that run it will be skipped (set TERRAFORM to a binary to run them)" >&2
fi
