/**
 * The pods' DNS lookups get through the NetworkPolicies on the clusters the
 * README names: the usual kube-dns/CoreDNS pods (kubeadm, kind, k3s, EKS,
 * GKE, AKS), NodeLocal DNSCache's link-local address, and OpenShift's DNS
 * pods (namespace openshift-dns, port 5353 behind the Service's 53), and
 * nowhere else on port 53. The policies are read as a CNI reads them
 * (helpers/network-policy.ts); no CNI runs here.
 */
import t from "tap";
import {
	type Combination,
	listCombinations,
	renderCombination,
} from "../helpers/deploy-combinations.ts";
import { type Endpoint, egressAllowed } from "../helpers/network-policy.ts";

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
