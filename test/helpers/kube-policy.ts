/**
 * Policy checks on rendered Kubernetes objects: the restricted Pod Security
 * Standard (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
 * plus this project's rules: read-only root filesystems, limits and probes,
 * pinned images, no secrets in ConfigMaps or plain env values.
 *
 * `checkPolicies` returns every violation as one readable line, so a test
 * can assert the list is empty and show all of them when it is not.
 *
 * @module
 */
import type { IContainer, IPodSpec } from "kubernetes-models/v1";
import type { KubeObject } from "./kustomize.ts";

/** Options of {@link checkPolicies}. */
export interface PolicyOptions {
	/** A release overlay: every image must be pinned by digest. */
	readonly release?: boolean;
}

/** Volume types the restricted standard allows. */
const ALLOWED_VOLUME_TYPES = new Set([
	"configMap",
	"csi",
	"downwardAPI",
	"emptyDir",
	"ephemeral",
	"persistentVolumeClaim",
	"projected",
	"secret",
]);

/** Workloads whose containers run for good and so need liveness and readiness probes. */
const LONG_RUNNING = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

const DIGEST = /@sha256:[0-9a-f]{64}$/;
const SECRET_NAME = /pass(word)?|secret|token|private|api_?key|credential/i;
const URL_WITH_PASSWORD = /:\/\/[^/\s:@]+:[^/\s@]+@/;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Every policy violation in `objects`, one line each; empty when all pass. */
export function checkPolicies(
	objects: readonly KubeObject[],
	options: PolicyOptions = {},
): string[] {
	const violations: string[] = [];
	for (const object of objects) {
		const where = `${object.kind}/${object.metadata.name}`;
		const report = (message: string) => violations.push(`${where}: ${message}`);
		if (object.kind === "ConfigMap") checkConfigMap(object, report);
		const pod = podSpecOf(object);
		if (pod) checkPod(object.kind, pod, options, report);
		const clusterImage = (object.spec as { imageName?: string } | undefined)
			?.imageName;
		if (object.kind === "Cluster" && clusterImage)
			checkImage(clusterImage, "spec.imageName", options, report);
	}
	return violations;
}

/** The pod spec inside a workload, or undefined for other kinds. */
export function podSpecOf(object: KubeObject): IPodSpec | undefined {
	const spec = object.spec as Record<string, unknown> | undefined;
	switch (object.kind) {
		case "Pod":
			return spec as IPodSpec | undefined;
		case "CronJob":
			return (
				spec?.jobTemplate as
					| { spec?: { template?: { spec?: IPodSpec } } }
					| undefined
			)?.spec?.template?.spec;
		case "Deployment":
		case "StatefulSet":
		case "DaemonSet":
		case "ReplicaSet":
		case "Job":
			return (spec?.template as { spec?: IPodSpec } | undefined)?.spec;
		default:
			return undefined;
	}
}

type Report = (message: string) => void;

function checkConfigMap(object: KubeObject, report: Report): void {
	const data = (object.data ?? {}) as Record<string, string>;
	for (const [key, value] of Object.entries(data)) {
		checkPlainValue(key, value, `data.${key}`, report);
	}
}

/** A value anyone who can read the object sees: it must not be a secret. */
function checkPlainValue(
	key: string,
	value: string,
	where: string,
	report: Report,
): void {
	// A *_FILE setting names where a secret is mounted, not the secret.
	if (SECRET_NAME.test(key) && !/_FILE$/.test(key))
		report(`${where} looks like a secret by its name: put it in a Secret`);
	if (URL_WITH_PASSWORD.test(value))
		report(`${where} holds a URL with a password: put it in a Secret`);
	if (PRIVATE_KEY.test(value))
		report(`${where} holds a private key: put it in a Secret`);
}

function checkPod(
	kind: string,
	pod: IPodSpec,
	options: PolicyOptions,
	report: Report,
): void {
	const podContext = pod.securityContext ?? {};
	if (pod.hostNetwork) report("hostNetwork is not allowed");
	if (pod.hostPID) report("hostPID is not allowed");
	if (pod.hostIPC) report("hostIPC is not allowed");
	if (pod.automountServiceAccountToken !== false)
		report("automountServiceAccountToken must be false (no API access needed)");
	if ((podContext.sysctls ?? []).length > 0) report("sysctls are not allowed");
	if (podContext.runAsUser === 0) report("pod runAsUser 0 (root)");
	for (const volume of pod.volumes ?? []) {
		const type = Object.keys(volume).find((key) => key !== "name");
		if (!type || !ALLOWED_VOLUME_TYPES.has(type))
			report(`volume ${volume.name}: type ${type} is not allowed`);
	}
	const containers: [string, IContainer, boolean][] = [
		...(pod.initContainers ?? []).map((c): [string, IContainer, boolean] => [
			`initContainer ${c.name}`,
			c,
			false,
		]),
		...pod.containers.map((c): [string, IContainer, boolean] => [
			`container ${c.name}`,
			c,
			LONG_RUNNING.has(kind),
		]),
	];
	for (const [name, container, longRunning] of containers) {
		const say: Report = (message) => report(`${name}: ${message}`);
		const context = container.securityContext ?? {};
		if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true)
			say("runAsNonRoot must be true (pod or container)");
		if ((context.runAsUser ?? podContext.runAsUser) === 0)
			say("runAsUser 0 (root)");
		const seccomp = (context.seccompProfile ?? podContext.seccompProfile)?.type;
		if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
			say("seccompProfile must be RuntimeDefault or Localhost");
		if (context.privileged) say("privileged is not allowed");
		if (context.allowPrivilegeEscalation !== false)
			say("allowPrivilegeEscalation must be false");
		if (!context.capabilities?.drop?.includes("ALL"))
			say("capabilities must drop ALL");
		for (const added of context.capabilities?.add ?? [])
			if (added !== "NET_BIND_SERVICE")
				say(`capability ${added} is not allowed`);
		if (context.readOnlyRootFilesystem !== true)
			say("readOnlyRootFilesystem must be true");
		for (const port of container.ports ?? [])
			if (port.hostPort) say(`hostPort ${port.hostPort} is not allowed`);
		const limits = container.resources?.limits ?? {};
		const requests = container.resources?.requests ?? {};
		if (limits.cpu === undefined || limits.memory === undefined)
			say("needs cpu and memory limits");
		if (requests.cpu === undefined || requests.memory === undefined)
			say("needs cpu and memory requests");
		if (longRunning) {
			if (!container.livenessProbe) say("needs a livenessProbe");
			if (!container.readinessProbe) say("needs a readinessProbe");
		}
		checkImage(container.image ?? "", "image", options, say);
		for (const variable of container.env ?? [])
			if (variable.value !== undefined)
				checkPlainValue(
					variable.name,
					variable.value,
					`env ${variable.name}`,
					say,
				);
	}
}

function checkImage(
	image: string,
	where: string,
	options: PolicyOptions,
	report: Report,
): void {
	const withoutDigest = image.replace(DIGEST, "");
	// A tag is what follows the last ':' after the last '/' (a registry port is not a tag).
	const lastPart = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
	const tag = lastPart.includes(":") ? lastPart.split(":").pop() : undefined;
	if (!image) report(`${where} is empty`);
	else if (tag === "latest") report(`${where} ${image} uses the latest tag`);
	else if (tag === undefined && !DIGEST.test(image))
		report(`${where} ${image} has neither a tag nor a digest`);
	if (options.release && !DIGEST.test(image))
		report(`${where} ${image} is not pinned by digest (release)`);
}
