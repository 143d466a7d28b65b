/**
 * NetworkPolicy semantics, on paper: whether the policies of one namespace
 * let a connection through, as the Kubernetes API defines it (a pod selected
 * by no policy of a direction is open in it; otherwise one rule of one
 * selecting policy must admit the peer and the port). No CNI enforces
 * anything here: this reads the rendered objects as a CNI would.
 *
 * @module
 */
import type {
	INetworkPolicy,
	INetworkPolicyPeer,
	INetworkPolicyPort,
} from "kubernetes-models/networking.k8s.io/v1";
import type { KubeObject } from "./kustomize.ts";

/** One end of a connection: a pod (its labels, its namespace's labels) or an address. */
export interface Endpoint {
	readonly podLabels?: Readonly<Record<string, string>>;
	readonly namespaceLabels?: Readonly<Record<string, string>>;
	/** An IPv4 address outside the pod network (a host-network or link-local one). */
	readonly ip?: string;
}

/** A port as the destination pod sees it: after a Service's DNAT. */
export interface Port {
	readonly port: number;
	readonly protocol: "TCP" | "UDP";
	/** The container port's name, for policies that name it. */
	readonly name?: string;
}

type LabelSelector = {
	matchLabels?: Record<string, string>;
	matchExpressions?: Array<{
		key: string;
		operator: string;
		values?: string[];
	}>;
};

/** Whether `selector` selects `labels` (an empty selector selects everything). */
function selects(
	selector: LabelSelector | undefined,
	labels: Readonly<Record<string, string>>,
): boolean {
	if (!selector) return true;
	for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
		if (labels[key] !== value) return false;
	for (const { key, operator, values = [] } of selector.matchExpressions ??
		[]) {
		const has = key in labels;
		const value = labels[key] as string;
		if (operator === "In" && !(has && values.includes(value))) return false;
		if (operator === "NotIn" && has && values.includes(value)) return false;
		if (operator === "Exists" && !has) return false;
		if (operator === "DoesNotExist" && has) return false;
	}
	return true;
}

function ipInCidr(ip: string, cidr: string): boolean {
	if (cidr.includes(":")) return false;
	const [base = "", bits = "32"] = cidr.split("/");
	const toNumber = (address: string) =>
		address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
	const size = 2 ** (32 - Number(bits));
	return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(base) / size);
}

/** Whether a peer of a rule of a policy in `namespace` matches `other`. */
function peerMatches(
	peer: INetworkPolicyPeer,
	other: Endpoint,
	namespace: string,
): boolean {
	if (peer.ipBlock)
		return (
			other.ip !== undefined &&
			ipInCidr(other.ip, peer.ipBlock.cidr) &&
			!(peer.ipBlock.except ?? []).some((cidr) =>
				ipInCidr(other.ip as string, cidr),
			)
		);
	if (!other.podLabels) return false;
	const namespaceLabels = other.namespaceLabels ?? {
		"kubernetes.io/metadata.name": namespace,
	};
	const sameNamespace =
		namespaceLabels["kubernetes.io/metadata.name"] === namespace;
	if (peer.namespaceSelector) {
		if (!selects(peer.namespaceSelector as LabelSelector, namespaceLabels))
			return false;
	} else if (!sameNamespace) return false;
	return selects(peer.podSelector as LabelSelector, other.podLabels);
}

function portMatches(
	ports: INetworkPolicyPort[] | undefined,
	port: Port,
): boolean {
	if (!ports || ports.length === 0) return true;
	return ports.some(
		(p) =>
			(p.protocol ?? "TCP") === port.protocol &&
			(p.port === undefined ||
				p.port === port.port ||
				(port.name !== undefined && p.port === port.name) ||
				(typeof p.port === "number" &&
					p.endPort !== undefined &&
					port.port >= p.port &&
					port.port <= p.endPort)),
	);
}

function policiesOf(objects: readonly KubeObject[]): INetworkPolicy[] {
	return objects.filter(
		(o) => o.kind === "NetworkPolicy",
	) as unknown as INetworkPolicy[];
}

/** Whether the namespace's policies let a pod labelled `from` open `port` on `to`. */
export function egressAllowed(
	objects: readonly KubeObject[],
	namespace: string,
	from: Readonly<Record<string, string>>,
	to: Endpoint,
	port: Port,
): boolean {
	const applying = policiesOf(objects).filter(
		(policy) =>
			(policy.spec?.policyTypes ?? []).includes("Egress") &&
			selects(policy.spec?.podSelector as LabelSelector, from),
	);
	if (applying.length === 0) return true;
	return applying.some((policy) =>
		(policy.spec?.egress ?? []).some(
			(rule) =>
				portMatches(rule.ports, port) &&
				(!rule.to ||
					rule.to.length === 0 ||
					rule.to.some((peer) => peerMatches(peer, to, namespace))),
		),
	);
}

/** Whether the namespace's policies let `from` open `port` on a pod labelled `to`. */
export function ingressAllowed(
	objects: readonly KubeObject[],
	namespace: string,
	from: Endpoint,
	to: Readonly<Record<string, string>>,
	port: Port,
): boolean {
	const applying = policiesOf(objects).filter(
		(policy) =>
			(policy.spec?.policyTypes ?? ["Ingress"]).includes("Ingress") &&
			selects(policy.spec?.podSelector as LabelSelector, to),
	);
	if (applying.length === 0) return true;
	return applying.some((policy) =>
		(policy.spec?.ingress ?? []).some(
			(rule) =>
				portMatches(rule.ports, port) &&
				(!rule.from ||
					rule.from.length === 0 ||
					rule.from.some((peer) => peerMatches(peer, from, namespace))),
		),
	);
}
