/**
 * Every object of every rendered combination matches its schema: built-in
 * kinds a current Kubernetes release's, and the CloudNativePG, External
 * Secrets and Prometheus Operator objects their CRDs'.
 */
import t from "tap";
import {
	listCombinations,
	renderCombination,
} from "../helpers/deploy-combinations.ts";
import { validateObject } from "../helpers/kube-schemas.ts";
import { findUnknownFields } from "../helpers/kube-types.ts";
import { findObject, type KubeObject } from "../helpers/kustomize.ts";

const combinations = await listCombinations();
/** `Kind/name`, without the content hash kustomize appends to a generated ConfigMap's or Secret's name. */
function identity(object: KubeObject): string {
	return `${object.kind}/${object.metadata.name.replace(/-[a-z0-9]{10}$/, "")}`;
}
/** What the base alone renders: components add and patch, never drop. */
const baseObjects = (
	await renderCombination({ label: "base", components: [] })
).map(identity);

t.ok(
	baseObjects.includes("Deployment/sherpany"),
	"the base renders the Deployment",
);

for (const combination of combinations) {
	t.test(combination.label, async (t) => {
		const objects = await renderCombination(combination);
		const rendered = new Set(objects.map(identity));
		for (const name of baseObjects)
			t.ok(rendered.has(name), `renders the base's ${name}`);
		for (const object of objects) {
			await t.resolves(
				validateObject(object),
				`${object.apiVersion} ${object.kind}/${object.metadata.name}`,
			);
		}
	});
}

t.test("every component and kind is covered", async (t) => {
	const kinds = new Set<string>();
	for (const combination of combinations)
		for (const object of await renderCombination(combination))
			kinds.add(`${object.apiVersion} ${object.kind}`);
	// The CRD kinds are validated by their own schemas, not waved through.
	for (const kind of [
		"postgresql.cnpg.io/v1 Cluster",
		"postgresql.cnpg.io/v1 ScheduledBackup",
		"barmancloud.cnpg.io/v1 ObjectStore",
		"v1 PersistentVolumeClaim",
		"external-secrets.io/v1 ExternalSecret",
		"apps/v1 Deployment",
		"apps/v1 StatefulSet",
		"batch/v1 CronJob",
		"networking.k8s.io/v1 Ingress",
		"gateway.networking.k8s.io/v1 HTTPRoute",
		"networking.k8s.io/v1 NetworkPolicy",
		"policy/v1 PodDisruptionBudget",
		"autoscaling/v2 HorizontalPodAutoscaler",
	])
		t.ok(kinds.has(kind), `${kind} is rendered and validated`);
});

t.test("the validators reject what the API server would", async (t) => {
	const base = await renderCombination({
		label: "cnpg",
		components: ["cloudnativepg"],
	});
	const deployment = findObject(base, "Deployment", "sherpany");
	const cluster = findObject(base, "Cluster", "sherpany-db");
	const mutate = (
		object: KubeObject,
		change: (copy: Loose) => void,
	): KubeObject => {
		const copy = structuredClone(object);
		change(copy);
		return copy;
	};
	await t.rejects(
		validateObject(
			mutate(deployment, (d) => {
				d.spec.revisionHistoryLimit = "five";
			}),
		),
		/revisionHistoryLimit must be integer/,
		"a wrong type in a built-in kind",
	);
	await t.rejects(
		validateObject(
			mutate(deployment, (d) => {
				delete d.spec.selector;
			}),
		),
		/selector/,
		"a missing required field",
	);
	await t.rejects(
		validateObject(
			mutate(cluster, (c) => {
				c.spec.instancess = 3;
			}),
		),
		/additional properties \(instancess\)/,
		"a misspelt field in the CloudNativePG Cluster",
	);
	await t.rejects(
		validateObject(
			mutate(cluster, (c) => {
				c.spec.instances = "three";
			}),
		),
		/instances must be integer/,
		"a wrong type in the CloudNativePG Cluster",
	);
	t.match(
		(cluster as Loose).spec.managed.roles,
		[{ name: "sherpany_serve", passwordSecret: { name: "sherpany-db-serve" } }],
		"the read-only role is in the validated Cluster",
	);
	await t.rejects(
		validateObject(
			mutate(cluster, (c) => {
				c.spec.managed.roles[0].passwordSecrett =
					c.spec.managed.roles[0].passwordSecret;
			}),
		),
		/additional properties \(passwordSecrett\)/,
		"a misspelt field in a managed role",
	);
	await t.rejects(
		validateObject(
			mutate(cluster, (c) => {
				c.spec.bootstrap.initdb.postInitApplicationSQLRefs.configMapRefs[0].key = 7;
			}),
		),
		/key must be string/,
		"a wrong type in the grants' reference",
	);
	const backups = await renderCombination({
		label: "cnpg backups",
		components: ["cloudnativepg", "cloudnativepg-backup"],
	});
	await t.rejects(
		validateObject(
			mutate(findObject(backups, "ObjectStore", "sherpany-backup"), (o) => {
				o.spec.retentionPolicy = "30 days";
			}),
		),
		/retentionPolicy must match pattern/,
		"a retention policy the plugin cannot read",
	);
	await t.rejects(
		validateObject(
			mutate(findObject(backups, "ScheduledBackup", "sherpany-db"), (b) => {
				b.spec.method = "barmanCloud";
			}),
		),
		/method must be equal to one of the allowed values/,
		"a backup method the operator does not know",
	);
	await t.rejects(
		validateObject(
			mutate(findObject(backups, "Cluster", "sherpany-db"), (c) => {
				c.spec.plugins[0].isWalArchiver = true;
			}),
		),
		/additional properties \(isWalArchiver\)/,
		"a misspelt field of the Cluster's plugin",
	);
	await t.rejects(
		validateObject({
			apiVersion: "example.com/v1",
			kind: "Widget",
			metadata: { name: "w" },
		}),
		/no schema for apiVersion example.com\/v1/,
		"an unknown kind fails instead of passing unchecked",
	);
});

/** Mutated copies of rendered objects: the tests reach into arbitrary fields to break them. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type Loose = any;

t.test("no object has a field its schema does not declare", async (t) => {
	const seen = new Map<string, KubeObject>();
	for (const combination of combinations)
		for (const object of await renderCombination(combination))
			seen.set(JSON.stringify(object), object);
	t.same(
		findUnknownFields([...seen.values()]),
		[],
		`${seen.size} distinct objects`,
	);
	const base = await renderCombination({ label: "base", components: [] });
	const deployment: Loose = structuredClone(
		findObject(base, "Deployment", "sherpany"),
	);
	deployment.spec.template.spec.containers[0].readinessProbes =
		deployment.spec.template.spec.containers[0].readinessProbe;
	t.match(
		findUnknownFields([deployment]).join("\n"),
		/Deployment\/sherpany: .*'"?readinessProbes"?' does not exist in type 'IContainer'/,
		"a misspelt field is caught, naming the object and the field",
	);
});
