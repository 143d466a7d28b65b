/**
 * Another namespace than `sherpany`, by each route (a kustomize overlay's
 * `namespace:`, Terraform's `namespace`, Ansible's `sherpany_namespace`):
 * every object lands in it, and every name of a Service or a namespace that
 * the objects carry still resolves there. The expected names are written
 * here, not taken from a kustomization that could make the same mistake.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import t, { type Test } from "tap";
import { ansibleOrSkip, renderWithAnsible } from "../helpers/ansible.ts";
import {
	KUBERNETES_DIR,
	type KubeObject,
	kustomize,
} from "../helpers/kustomize.ts";
import { checkServeSecret } from "../helpers/serve-secret.ts";
import {
	createMappingRoot,
	findTerraform,
	skipWithoutTerraform,
} from "../helpers/terraform.ts";

const NAMESPACE = "shop";
/** CloudNativePG's read-only role's password, which Terraform and Ansible put in Secret sherpany-db-serve. */
const SERVE_PASSWORD = "namespace-test-serve-password";

/** Namespaces the objects may name besides their own: the cluster's services. */
const OTHER_NAMESPACES = new Set([
	"kube-system",
	"monitoring",
	"cnpg-system",
	"openshift-dns",
	// The gateway component's default Gateway.
	"gateway-system",
]);

/**
 * The database hosts the components point the app at, all Services of the
 * namespace: the postgres component's own, and the CloudNativePG operator's
 * read-write and read-only ones.
 */
const DATABASE_HOSTS: Record<string, readonly string[]> = {
	PGHOST: ["sherpany-postgres", "sherpany-db-rw"],
	DATABASE_READ_URL: ["sherpany-db-ro"],
};

/** The setting each database component must set. */
const SETS: Record<string, string> = {
	cloudnativepg: "DATABASE_READ_URL",
	postgres: "PGHOST",
};

const CLUSTER_SCOPED = new Set([
	"Namespace",
	"ClusterRole",
	"ClusterRoleBinding",
]);

/** What is wrong with `objects` for `namespace`; empty when nothing is. */
export function namespaceProblems(
	objects: readonly KubeObject[],
	namespace: string,
): string[] {
	const problems: string[] = [];
	const services = new Set(
		objects.filter((o) => o.kind === "Service").map((o) => o.metadata.name),
	);
	for (const object of objects) {
		const id = `${object.kind}/${object.metadata.name}`;
		if (object.kind === "Namespace") {
			if (object.metadata.name !== namespace)
				problems.push(`${id}: not the chosen namespace ${namespace}`);
		} else if (!CLUSTER_SCOPED.has(object.kind)) {
			if (object.metadata.namespace !== namespace)
				problems.push(`${id}: in namespace ${object.metadata.namespace}`);
		}
		walk(object, [], (path, key, value) => {
			// A DNS name that spells the default namespace (svc.sherpany,
			// x.sherpany:5432, x.sherpany.svc.cluster.local).
			if (/[a-z0-9]\.sherpany(\.svc|[:/]|$)/.test(value))
				problems.push(`${id} ${path}: ${value} names namespace sherpany`);
			if (
				(key === "namespace" || key === "kubernetes.io/metadata.name") &&
				value !== namespace &&
				!OTHER_NAMESPACES.has(value)
			)
				problems.push(`${id} ${path}: names namespace ${value}`);
		});
		if (object.kind === "ServiceMonitor") {
			const spec = object.spec as {
				namespaceSelector?: { matchNames?: string[] };
			};
			const names = spec.namespaceSelector?.matchNames;
			if (names && (names.length !== 1 || names[0] !== namespace))
				problems.push(`${id}: namespaceSelector ${names}`);
		}
		if (object.kind === "Ingress")
			for (const backend of ingressServices(object))
				if (!services.has(backend))
					problems.push(`${id}: backend ${backend} is no Service here`);
		if (object.kind === "HTTPRoute")
			for (const ref of httpRouteBackends(object))
				if (!services.has(ref))
					problems.push(`${id}: backendRef ${ref} is no Service here`);
		if (object.kind === "ConfigMap")
			for (const [key, services] of Object.entries(DATABASE_HOSTS)) {
				const value = (object as { data?: Record<string, string> }).data?.[key];
				if (value === undefined) continue;
				const host = key === "PGHOST" ? value : new URL(value).hostname;
				const [first, second] = host.split(".");
				if (!services.includes(first as string))
					problems.push(`${id} ${key}: ${host} is none of ${services}`);
				if (second !== undefined && second !== namespace)
					problems.push(`${id} ${key}: ${host} is outside ${namespace}`);
			}
	}
	return problems;
}

function walk(
	value: unknown,
	path: string[],
	visit: (path: string, key: string, value: string) => void,
): void {
	if (typeof value === "string")
		visit(path.join("."), path.at(-1) ?? "", value);
	else if (Array.isArray(value))
		value.forEach((item, index) => {
			walk(item, [...path, String(index)], visit);
		});
	else if (value && typeof value === "object")
		for (const [key, item] of Object.entries(value))
			walk(item, [...path, key], visit);
}

function ingressServices(object: KubeObject): string[] {
	const spec = object.spec as {
		rules?: Array<{
			http?: { paths: Array<{ backend: { service?: { name: string } } }> };
		}>;
	};
	return (spec.rules ?? []).flatMap((rule) =>
		(rule.http?.paths ?? []).flatMap((p) =>
			p.backend.service ? [p.backend.service.name] : [],
		),
	);
}

function httpRouteBackends(object: KubeObject): string[] {
	const spec = object.spec as {
		rules?: Array<{
			backendRefs?: Array<{ name: string; namespace?: string }>;
		}>;
	};
	return (spec.rules ?? []).flatMap((rule) =>
		(rule.backendRefs ?? []).map((ref) =>
			ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name,
		),
	);
}

/** Every database choice, with every extra that goes with it. */
const KUSTOMIZE_CHOICES: ReadonlyArray<readonly string[]> = [
	["cloudnativepg", "ingress", "gateway", "monitoring", "seed-job"],
	["postgres", "external-secret", "ingress", "monitoring", "seed-job"],
	["external-db", "external-secret", "monitoring", "seed-job"],
];

/** Renders the base and `components` through an overlay that sets `namespace`. */
async function renderInNamespace(
	components: readonly string[],
	namespace: string,
): Promise<KubeObject[]> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-namespace-"));
	try {
		const toRepo = (path: string) => relative(dir, join(KUBERNETES_DIR, path));
		await writeFile(
			join(dir, "kustomization.yaml"),
			JSON.stringify({
				apiVersion: "kustomize.config.k8s.io/v1beta1",
				kind: "Kustomization",
				namespace,
				resources: [toRepo("base")],
				components: components.map((name) => toRepo(`components/${name}`)),
			}),
		);
		return await kustomize(dir);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

function assertInNamespace(t: Test, objects: KubeObject[]): void {
	t.ok(
		objects.some((o) => o.kind === "Deployment"),
		"the render holds the Deployment",
	);
	t.same(namespaceProblems(objects, NAMESPACE), [], `all in ${NAMESPACE}`);
}

t.test("the check catches the default namespace in a Service's name", (t) => {
	const configMap = {
		apiVersion: "v1",
		kind: "ConfigMap",
		metadata: { name: "x", namespace: NAMESPACE },
		data: {
			DATABASE_READ_URL: "postgresql://sherpany-db-ro.sherpany:5432/app",
		},
	};
	t.not(namespaceProblems([configMap], NAMESPACE).length, 0);
	t.end();
});

for (const components of KUSTOMIZE_CHOICES)
	t.test(`kustomize: base + ${components.join(" + ")}`, async (t) => {
		const objects = await renderInNamespace(components, NAMESPACE);
		assertInNamespace(t, objects);
		const key = SETS[components[0] as string];
		if (key)
			t.ok(
				objects.some(
					(o) =>
						o.kind === "ConfigMap" &&
						(o as { data?: Record<string, string> }).data?.[key],
				),
				`a ConfigMap sets ${key}`,
			);
	});

t.test("terraform: namespace", async (t) => {
	if (!(await findTerraform())) {
		t.plan(0, skipWithoutTerraform());
		return;
	}
	const root = await createMappingRoot();
	t.teardown(() => root.close());
	for (const variables of [
		{
			database: { mode: "cloudnativepg" },
			credentials: { source: "operator" },
			database_passwords: { serve: SERVE_PASSWORD },
			ingress: { host: "api.shop.example" },
			monitoring: true,
		},
		{
			database: { mode: "in-cluster" },
			credentials: { source: "existing-secret" },
			ingress: { host: "api.shop.example" },
			seed_job: true,
		},
	]) {
		const outputs = await root.apply({ ...variables, namespace: NAMESPACE });
		await writeFile(
			join(root.dir, "kustomization.yaml"),
			outputs.kustomization_yaml,
		);
		const objects = await kustomize(root.dir);
		assertInNamespace(t, objects);
		if (variables.database.mode === "cloudnativepg")
			checkServeSecret(t, objects, {
				namespace: NAMESPACE,
				password: SERVE_PASSWORD,
			});
	}
});

t.test("ansible: sherpany_namespace", async (t) => {
	if (!(await ansibleOrSkip(t))) return;
	for (const vars of [
		{
			sherpany_database: "cloudnativepg",
			sherpany_database_secret: { "serve-password": SERVE_PASSWORD },
			sherpany_ingress: true,
			sherpany_monitoring: true,
		},
		{
			sherpany_database: "in-cluster",
			sherpany_credentials: "existing",
			sherpany_ingress: true,
			sherpany_seed_job: true,
		},
	]) {
		const { objects } = await renderWithAnsible({
			...vars,
			sherpany_namespace: NAMESPACE,
		});
		assertInNamespace(t, objects.localhost ?? []);
		if (vars.sherpany_database === "cloudnativepg")
			checkServeSecret(t, objects.localhost ?? [], {
				namespace: NAMESPACE,
				password: SERVE_PASSWORD,
			});
	}
});
