#!/usr/bin/env bash
# Terraform for test/deploy/terraform-*.test.ts. It is not in Debian's
# archive and nothing else is reachable from CI (only npm and apt), so this
# installs nothing: it reports the terraform the machine has (these machines
# carry /usr/local/bin/terraform). Without one, the steps that run terraform
# (fmt, the mapping test, and the Terraform halves of the gateway and
# namespace tests) fail under CI (CI set, as .ci/run does) and are skipped,
# saying so, elsewhere; the HCL checks still run.
set -euo pipefail

if path=$(command -v terraform); then
	echo "terraform: $path ($(terraform version 2>/dev/null | head -n 1))"
else
	echo "terraform: not found on PATH; it is not in Debian's archive and cannot be downloaded here," \
		"so the suites that run it will fail under CI (set TERRAFORM to a binary to run them)" >&2
fi
