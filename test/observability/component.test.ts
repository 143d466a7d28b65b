/**
 * The `monitoring` kustomize component as kustomize renders it: what objects
 * it adds, that they validate against the Kubernetes and Prometheus Operator
 * schemas, and that they carry the dashboard and the rules unchanged.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { promisify } from "node:util";
import {
	PrometheusRule,
	ServiceMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { ConfigMap } from "kubernetes-models/v1";
import t, { type Test } from "tap";
import { parseAllDocuments, stringify } from "yaml";
import { findOnPath } from "../helpers/prometheus.ts";
import { COMPONENT_DIR, DASHBOARD_PATH, loadRuleGroups } from "./monitoring.ts";

const run = promisify(execFile);

/** kubectl's built-in kustomize renders offline; these machines have kubectl (see the README). */
function skipWithoutKubectl(): string | false {
	if (findOnPath("kubectl")) return false;
	const reason =
		"kubectl not on PATH: its built-in kustomize renders the component";
	if (process.env.CI) throw new Error(reason);
	return reason;
}
const skip = skipWithoutKubectl();

interface KubeObject {
	apiVersion: string;
	kind: string;
	metadata: {
		name: string;
		namespace?: string;
		labels?: Record<string, string>;
	};
	[key: string]: unknown;
}

/** Validates a rendered object against a kubernetes-models schema; throws if it does not fit. */
function validate(
	Model: new (data: never) => { validate(): void },
	object: unknown,
): void {
	new Model(object as never).validate();
}

/** Renders a kustomization that uses only the monitoring component. */
async function renderComponent(
	t: Test,
	extra: Record<string, unknown> = {},
): Promise<KubeObject[]> {
	const dir = t.testdirName;
	// kustomize refuses an absolute path to a component.
	const kustomization = {
		apiVersion: "kustomize.config.k8s.io/v1beta1",
		kind: "Kustomization",
		...extra,
		components: [relative(dir, COMPONENT_DIR)],
	};
	t.testdir({ "kustomization.yaml": stringify(kustomization) });
	const { stdout } = await run("kubectl", ["kustomize", dir], {
		maxBuffer: 16 * 1024 * 1024,
	});
	return parseAllDocuments(stdout).map((doc) => doc.toJS() as KubeObject);
}

t.test(
	"the component adds a ServiceMonitor, a PrometheusRule and the dashboard",
	{ skip },
	async (t) => {
		const objects = await renderComponent(t);
		t.same(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
			"ConfigMap/sherpany-dashboard",
			"PrometheusRule/sherpany",
			"ServiceMonitor/sherpany",
		]);
		for (const object of objects) {
			t.equal(
				object.metadata.namespace,
				"sherpany",
				`${object.kind} namespace`,
			);
			t.match(
				object.metadata.labels,
				{
					"app.kubernetes.io/name": "sherpany",
					"app.kubernetes.io/instance": "sherpany",
					"app.kubernetes.io/part-of": "sherpany",
					"app.kubernetes.io/managed-by": "kustomize",
					"app.kubernetes.io/component": "monitoring",
				},
				`${object.kind}: recommended labels`,
			);
		}
		const byKind = new Map(objects.map((o) => [o.kind, o]));

		const configMap = byKind.get("ConfigMap");
		t.doesNotThrow(() => validate(ConfigMap, configMap), "ConfigMap schema");
		t.equal(
			configMap?.metadata.labels?.grafana_dashboard,
			"1",
			"Grafana's sidecar label",
		);
		t.equal(
			(configMap?.data as Record<string, string> | undefined)?.[
				"sherpany.json"
			],
			readFileSync(DASHBOARD_PATH, "utf8"),
			"the dashboard, unchanged",
		);

		const rule = byKind.get("PrometheusRule");
		t.doesNotThrow(
			() => validate(PrometheusRule, rule),
			"PrometheusRule schema",
		);
		t.same(rule?.spec, { groups: loadRuleGroups() }, "the rules, unchanged");

		const monitor = byKind.get("ServiceMonitor");
		t.doesNotThrow(
			() => validate(ServiceMonitor, monitor),
			"ServiceMonitor schema",
		);
		t.match(monitor?.spec, {
			// The sherpany-admin Service's labels, and its admin port by name.
			selector: {
				matchLabels: {
					"app.kubernetes.io/name": "sherpany",
					"app.kubernetes.io/component": "admin",
				},
			},
			endpoints: [{ port: "admin", path: "/metrics" }],
		});
	},
);

t.test("the schemas catch a broken object", { skip }, async (t) => {
	const monitor = (await renderComponent(t)).find(
		(o) => o.kind === "ServiceMonitor",
	);
	const broken = structuredClone(monitor) as KubeObject & {
		spec: { endpoints: unknown };
	};
	broken.spec.endpoints = "admin";
	t.throws(() => validate(ServiceMonitor, broken));
});

t.test("an overlay's namespace moves every object", { skip }, async (t) => {
	const objects = await renderComponent(t, { namespace: "observability-test" });
	t.same(
		objects.map((o) => o.metadata.namespace),
		objects.map(() => "observability-test"),
	);
});

t.test("the component's files are all used", async (t) => {
	// Guards against a file edited here but missing from kustomization.yaml.
	const kustomization = readFileSync(
		`${COMPONENT_DIR}kustomization.yaml`,
		"utf8",
	);
	for (const file of [
		"servicemonitor.yaml",
		"prometheusrule.yaml",
		"dashboard.json",
	])
		t.match(kustomization, file, file);
	t.match(kustomization, /kind: Component/);
});
