/**
 * The gateway component: its HTTPRoute validates against Gateway API's
 * schema (and the validator refuses a broken one), routes only the public
 * paths to the API Service, and the app's NetworkPolicy admits the Gateway's
 * data plane on the API port as it admits an Ingress controller, never on
 * the admin port. Terraform and Ansible give the route the same defaults.
 * (Their renders against kustomize: terraform-mapping and ansible-render.)
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { IService } from "kubernetes-models/v1";
import t from "tap";
import { ansibleOrSkip, renderWithAnsible } from "../helpers/ansible.ts";
import { validateObject } from "../helpers/kube-schemas.ts";
import {
	findObject,
	type KubeObject,
	kustomize,
	renderWith,
} from "../helpers/kustomize.ts";
import { ingressAllowed } from "../helpers/network-policy.ts";
import {
	createMappingRoot,
	findTerraform,
	skipWithoutTerraform,
} from "../helpers/terraform.ts";

interface Route {
	spec: {
		parentRefs: Array<Record<string, string>>;
		hostnames: string[];
		rules: Array<{
			matches: Array<{ path: { type: string; value: string } }>;
			backendRefs: Array<{ name: string; port: number }>;
		}>;
	};
}

const objects = await renderWith(["gateway"]);
const route = findObject<KubeObject & Route>(objects, "HTTPRoute", "sherpany");

t.test("the HTTPRoute validates against Gateway API's schema", async (t) => {
	await t.resolves(validateObject(route));
	const broken = structuredClone(route);
	(broken.spec.rules[0]?.matches[0]?.path as { type: string }).type = "Glob";
	await t.rejects(validateObject(broken), /HTTPRoute\/sherpany does not match/);
});

t.test("only /users and /health reach the API Service's port", async (t) => {
	t.same(
		route.spec.rules.flatMap((rule) =>
			rule.matches.map((m) => `${m.path.type} ${m.path.value}`),
		),
		["Exact /users", "Exact /health"],
	);
	const service = findObject<IService & KubeObject>(
		objects,
		"Service",
		"sherpany",
	);
	for (const ref of route.spec.rules.flatMap((rule) => rule.backendRefs)) {
		t.equal(ref.name, "sherpany", "the API Service");
		const port = service.spec?.ports?.find((p) => p.port === ref.port);
		t.equal(port?.targetPort, "http", `port ${ref.port} is the API port`);
	}
	t.same(
		Object.keys(route.spec.parentRefs[0] ?? {}).sort(),
		["group", "kind", "name", "namespace", "sectionName"],
		"the Gateway is named in full: TLS is its listener's",
	);
});

t.test(
	"the Gateway's data plane reaches the API port, not admin",
	async (t) => {
		const api = {
			"app.kubernetes.io/name": "sherpany",
			"app.kubernetes.io/component": "api",
		};
		for (const [label, from] of [
			[
				"an Envoy Gateway proxy in its own namespace",
				{
					namespaceLabels: {
						"kubernetes.io/metadata.name": "envoy-gateway-system",
					},
					podLabels: { "app.kubernetes.io/name": "envoy" },
				},
			],
			["a cloud load balancer's proxy", { ip: "35.191.0.1" }],
		] as const) {
			t.ok(
				ingressAllowed(objects, "sherpany", from, api, {
					port: 8080,
					name: "http",
					protocol: "TCP",
				}),
				`${label}: API port`,
			);
			t.notOk(
				ingressAllowed(objects, "sherpany", from, api, {
					port: 9090,
					name: "admin",
					protocol: "TCP",
				}),
				`${label}: not the admin port`,
			);
		}
	},
);

t.test("Terraform and Ansible give the route the same defaults", async (t) => {
	if (!(await findTerraform())) {
		t.plan(0, skipWithoutTerraform());
		return;
	}
	if (!(await ansibleOrSkip(t))) return;
	const host = "api.example.org";
	const caBundle =
		"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
	const root = await createMappingRoot();
	t.teardown(() => root.close());
	const outputs = await root.apply({
		database: { mode: "external", ca_bundle: caBundle },
		credentials: { source: "existing-secret" },
		gateway: { host },
	});
	await writeFile(
		join(root.dir, "kustomization.yaml"),
		outputs.kustomization_yaml,
	);
	const fromTerraform = findObject(
		await kustomize(root.dir),
		"HTTPRoute",
		"sherpany",
	);
	const rendered = await renderWithAnsible({
		sherpany_database: "external",
		sherpany_database_ca_bundle: caBundle,
		sherpany_credentials: "existing",
		sherpany_gateway: true,
		sherpany_gateway_host: host,
	});
	const fromAnsible = findObject(
		rendered.objects.localhost ?? [],
		"HTTPRoute",
		"sherpany",
	);
	t.same(fromAnsible, fromTerraform, "the same HTTPRoute");
	t.same(
		(fromTerraform as KubeObject & Route).spec.parentRefs,
		[
			{
				group: "gateway.networking.k8s.io",
				kind: "Gateway",
				name: "gateway",
				namespace: "gateway-system",
				sectionName: "https",
			},
		],
		"the documented defaults",
	);
	t.same((fromTerraform as KubeObject & Route).spec.hostnames, [host]);
});
