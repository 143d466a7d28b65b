/**
 * The pods' DNS lookups get through the NetworkPolicies on the clusters the
 * README names: the usual kube-dns/CoreDNS pods (kubeadm, kind, k3s, EKS,
 * GKE, AKS), NodeLocal DNSCache's link-local address, and OpenShift's DNS
 * pods (namespace openshift-dns, port 5353 behind the Service's 53), and
 * nowhere else on port 53. The policies are read as a CNI reads them
 * (helpers/network-policy.ts); no CNI runs here.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import t, { type Test } from "tap";
import { ansibleOrSkip, renderWithAnsible } from "../helpers/ansible.ts";
import {
	type Combination,
	listCombinations,
	renderCombination,
} from "../helpers/deploy-combinations.ts";
import { type KubeObject, kustomize } from "../helpers/kustomize.ts";
import { type Endpoint, egressAllowed } from "../helpers/network-policy.ts";
import { createMappingRoot, findTerraform } from "../helpers/terraform.ts";

const NAMESPACE = "sherpany";

/** Where each cluster's resolver is, as the pods' packets meet it (after a Service's DNAT). */
const RESOLVERS: ReadonlyArray<{ label: string; to: Endpoint; port: number }> =
	[
		{
			label: "kube-dns/CoreDNS pods in kube-system",
			to: {
				namespaceLabels: { "kubernetes.io/metadata.name": "kube-system" },
				podLabels: { "k8s-app": "kube-dns" },
			},
			port: 53,
		},
		{
			label: "NodeLocal DNSCache on 169.254.20.10",
			to: { ip: "169.254.20.10" },
			port: 53,
		},
		{
			label: "OpenShift's dns-default pods on 5353",
			to: {
				namespaceLabels: { "kubernetes.io/metadata.name": "openshift-dns" },
				podLabels: { "dns.operator.openshift.io/daemonset-dns": "default" },
			},
			port: 5353,
		},
	];

/** Port 53 elsewhere: a resolver on the internet, another kube-system pod. */
const NOT_RESOLVERS: ReadonlyArray<{ label: string; to: Endpoint }> = [
	{ label: "a public resolver", to: { ip: "8.8.8.8" } },
	{
		label: "another kube-system pod",
		to: {
			namespaceLabels: { "kubernetes.io/metadata.name": "kube-system" },
			podLabels: { "k8s-app": "metrics-server" },
		},
	},
];

/** The pods that look names up: the app, its seed Job, the database instances. */
const CLIENTS: Record<string, Record<string, string>> = {
	api: {
		"app.kubernetes.io/name": "sherpany",
		"app.kubernetes.io/component": "api",
	},
	seed: {
		"app.kubernetes.io/name": "sherpany",
		"app.kubernetes.io/component": "seed",
	},
	cloudnativepg: { "cnpg.io/cluster": "sherpany-db" },
};

for (const combination of await listCombinations())
	t.test(combination.label, async (t) => {
		const objects = await renderCombination(combination as Combination);
		const clients = Object.entries(CLIENTS).filter(
			([name]) =>
				name !== "cloudnativepg" || objects.some((o) => o.kind === "Cluster"),
		);
		for (const [client, labels] of clients) {
			for (const resolver of RESOLVERS)
				for (const protocol of ["UDP", "TCP"] as const)
					t.ok(
						egressAllowed(objects, NAMESPACE, labels, resolver.to, {
							port: resolver.port,
							protocol,
						}),
						`${client} reaches ${resolver.label} over ${protocol}`,
					);
			for (const other of NOT_RESOLVERS)
				t.notOk(
					egressAllowed(objects, NAMESPACE, labels, other.to, {
						port: 53,
						protocol: "UDP",
					}),
					`${client} does not reach ${other.label} on 53`,
				);
		}
	});

/** The kube-dns Service's ClusterIP, as a NodeLocal DNSCache in iptables mode answers on it. */
const CLUSTER_IP = "10.96.0.10";

function assertReachesClusterIp(
	t: Test,
	objects: KubeObject[],
	reach: boolean,
) {
	for (const [client, labels] of Object.entries(CLIENTS))
		t.equal(
			egressAllowed(
				objects,
				NAMESPACE,
				labels,
				{ ip: CLUSTER_IP },
				{
					port: 53,
					protocol: "UDP",
				},
			),
			reach,
			`${client} ${reach ? "reaches" : "does not reach"} ${CLUSTER_IP}:53`,
		);
}

t.test("another resolver's address, by Terraform and Ansible", async (t) => {
	assertReachesClusterIp(
		t,
		await renderCombination({ label: "cnpg", components: ["cloudnativepg"] }),
		false,
	);
	if (!(await findTerraform())) {
		if (process.env.CI) throw new Error("terraform is not installed");
	} else {
		const root = await createMappingRoot();
		t.teardown(() => root.close());
		const outputs = await root.apply({
			database: { mode: "cloudnativepg" },
			credentials: { source: "operator" },
			database_passwords: { serve: "dns-egress-test-serve-password" },
			dns_ip_blocks: [`${CLUSTER_IP}/32`],
		});
		await writeFile(
			join(root.dir, "kustomization.yaml"),
			outputs.kustomization_yaml,
		);
		assertReachesClusterIp(t, await kustomize(root.dir), true);
	}
	if (!(await ansibleOrSkip(t))) return;
	const rendered = await renderWithAnsible({
		sherpany_database: "cloudnativepg",
		sherpany_database_secret: { "serve-password": "dns-egress-test" },
		sherpany_dns_ip_blocks: [`${CLUSTER_IP}/32`],
	});
	assertReachesClusterIp(t, rendered.objects.localhost ?? [], true);
});
