/**
 * Policy on every rendered combination: the restricted Pod Security
 * Standard, non-root containers with requests, limits and (when they run for
 * good) probes, no `latest` tags, every image pinned by digest in the release
 * overlay, no secrets in ConfigMaps or env values. Then the checker itself is
 * shown to catch each kind of violation, so a pass means something.
 */
import t from "tap";
import {
	listCombinations,
	renderCombination,
} from "../helpers/deploy-combinations.ts";
import { checkPolicies, podSpecOf } from "../helpers/kube-policy.ts";
import { findObject, type KubeObject } from "../helpers/kustomize.ts";

/** Overlays that ship to production: images by digest. */
const RELEASE_OVERLAYS = new Set(["release"]);

for (const combination of await listCombinations()) {
	t.test(combination.label, async (t) => {
		const objects = await renderCombination(combination);
		const release = RELEASE_OVERLAYS.has(combination.overlay ?? "");
		t.same(checkPolicies(objects, { release }), [], "no policy violations");
		const namespace = findObject(objects, "Namespace", "sherpany");
		t.equal(
			namespace.metadata.labels?.["pod-security.kubernetes.io/enforce"],
			"restricted",
			"the namespace enforces the restricted Pod Security Standard",
		);
	});
}

t.test("the checker catches each violation", async (t) => {
	const objects = await renderCombination({
		label: "base + postgres + seed-job",
		components: ["postgres", "seed-job"],
	});
	t.same(checkPolicies(objects), [], "the unmodified objects pass");
	const violationsAfter = (
		kind: string,
		name: string,
		change: (copy: Loose) => void,
		options = {},
	): string[] => {
		const copy = structuredClone(findObject(objects, kind, name));
		change(copy);
		return checkPolicies([copy], options);
	};
	const serve = (change: (container: Loose) => void) => (deployment: Loose) =>
		change(podSpecOf(deployment)?.containers[0]);
	const cases: [string, string, string, (copy: Loose) => void, RegExp][] = [
		[
			"root user",
			"Deployment",
			"sherpany",
			(d) => {
				d.spec.template.spec.securityContext.runAsUser = 0;
			},
			/runAsUser 0/,
		],
		[
			"runAsNonRoot missing",
			"Deployment",
			"sherpany",
			(d) => {
				delete d.spec.template.spec.securityContext.runAsNonRoot;
				delete podSpecOf(d)?.containers[0]?.securityContext?.runAsNonRoot;
			},
			/container sherpany: runAsNonRoot must be true/,
		],
		[
			"privilege escalation",
			"Deployment",
			"sherpany",
			serve((c) => {
				c.securityContext.allowPrivilegeEscalation = true;
			}),
			/allowPrivilegeEscalation must be false/,
		],
		[
			"capabilities kept",
			"Deployment",
			"sherpany",
			serve((c) => {
				c.securityContext.capabilities = { add: ["NET_ADMIN"] };
			}),
			/must drop ALL.*|capability NET_ADMIN/,
		],
		[
			"writable root",
			"Deployment",
			"sherpany",
			serve((c) => {
				c.securityContext.readOnlyRootFilesystem = false;
			}),
			/readOnlyRootFilesystem must be true/,
		],
		[
			"no seccomp",
			"Deployment",
			"sherpany",
			(d) => {
				delete d.spec.template.spec.securityContext.seccompProfile;
			},
			/seccompProfile must be RuntimeDefault/,
		],
		[
			"no memory limit",
			"Deployment",
			"sherpany",
			serve((c) => {
				delete c.resources.limits.memory;
			}),
			/container sherpany: needs cpu and memory limits/,
		],
		[
			"no liveness probe",
			"StatefulSet",
			"sherpany-postgres",
			(s) => {
				delete s.spec.template.spec.containers[0].livenessProbe;
			},
			/container postgres: needs a livenessProbe/,
		],
		[
			"no readiness probe",
			"Deployment",
			"sherpany",
			serve((c) => {
				delete c.readinessProbe;
			}),
			/needs a readinessProbe/,
		],
		[
			"latest tag",
			"Deployment",
			"sherpany",
			serve((c) => {
				c.image = "ghcr.io/sherpany/sherpany:latest";
			}),
			/uses the latest tag/,
		],
		[
			"no tag",
			"StatefulSet",
			"sherpany-postgres",
			(s) => {
				s.spec.template.spec.containers[0].image =
					"registry.example:5000/postgres";
			},
			/has neither a tag nor a digest/,
		],
		[
			"hostPath volume",
			"Deployment",
			"sherpany",
			(d) => {
				d.spec.template.spec.volumes.push({
					name: "host",
					hostPath: { path: "/" },
				});
			},
			/type hostPath is not allowed/,
		],
		[
			"host network",
			"Deployment",
			"sherpany",
			(d) => {
				d.spec.template.spec.hostNetwork = true;
			},
			/hostNetwork is not allowed/,
		],
		[
			"service account token",
			"CronJob",
			"sherpany-seed",
			(c) => {
				delete c.spec.jobTemplate.spec.template.spec
					.automountServiceAccountToken;
			},
			/automountServiceAccountToken must be false/,
		],
		[
			"password in env",
			"StatefulSet",
			"sherpany-postgres",
			(s) => {
				s.spec.template.spec.containers[0].env.push({
					name: "POSTGRES_PASSWORD",
					value: "hunter2",
				});
			},
			/env POSTGRES_PASSWORD looks like a secret/,
		],
	];
	for (const [label, kind, name, change, expected] of cases) {
		const violations = violationsAfter(kind, name, change);
		t.match(violations.join("\n"), expected, label);
	}
	const configMap = (data: Record<string, string>): KubeObject => ({
		apiVersion: "v1",
		kind: "ConfigMap",
		metadata: { name: "settings" },
		data,
	});
	t.match(
		checkPolicies([
			configMap({ DATABASE_URL: "postgres://app:hunter2@db/app" }),
		]).join("\n"),
		/URL with a password/,
		"a URL with a password in a ConfigMap",
	);
	t.match(
		checkPolicies([configMap({ PGPASSWORD: "hunter2" })]).join("\n"),
		/looks like a secret by its name/,
		"a password in a ConfigMap",
	);
	t.match(
		checkPolicies([
			configMap({ "tls.key": "-----BEGIN EC PRIVATE KEY-----\n..." }),
		]).join("\n"),
		/private key/,
		"a private key in a ConfigMap",
	);
	t.same(
		checkPolicies([
			configMap({
				PGPASSWORD_FILE: "/var/run/secrets/x/password",
				"ca.crt": "-----BEGIN CERTIFICATE-----",
			}),
		]),
		[],
		"paths of secret files and CA certificates are fine",
	);
	t.match(
		violationsAfter("Deployment", "sherpany", () => {}, { release: true }).join(
			"\n",
		),
		/image ghcr.io\/sherpany\/sherpany:\d+\.\d+\.\d+ is not pinned by digest \(release\)/,
		"a release image without a digest",
	);
});

/** Mutated copies of rendered objects: the tests reach into arbitrary fields to break them. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type Loose = any;
