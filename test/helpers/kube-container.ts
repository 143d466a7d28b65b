/**
 * Turns a container of a rendered pod spec into a `podman run` command line
 * that runs it the way the kubelet would: the manifest's command and args,
 * the environment resolved from its ConfigMaps and env entries, its Secret
 * and ConfigMap volumes written as files at their mount paths with their
 * modes and fsGroup, its user, groups, capabilities, read-only root
 * filesystem and memory and CPU limits. Nothing is taken from anywhere but
 * the manifest, except the Secrets' contents (which live outside it) and the
 * image, mapped from the registry name to the locally built one.
 *
 * @module
 */
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IContainer, IPodSpec, IVolume } from "kubernetes-models/v1";
import type { Test } from "tap";
import type { KubeObject } from "./kustomize.ts";

/** What the manifests leave to the cluster, supplied by the test. */
export interface ClusterFacts {
	/** Secret name → key → content. */
	readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
	/** ConfigMap key contents to use instead of the rendered ones (as an overlay would), by ConfigMap name before kustomize's hash suffix. */
	readonly configMapData?: Readonly<
		Record<string, Readonly<Record<string, string>>>
	>;
	/** The local image to run for the manifest's image. */
	readonly image: string;
	/** `--network` value (the pod's namespace). */
	readonly network: string;
	/** Host name → address, as cluster DNS would resolve Service names. */
	readonly hosts?: Readonly<Record<string, string>>;
}

/** The resolved environment of a container: envFrom in order, then env (Kubernetes' precedence). */
export function resolveEnv(
	container: IContainer,
	objects: readonly KubeObject[],
	facts: Pick<ClusterFacts, "secrets">,
): Record<string, string> {
	const env: Record<string, string> = {};
	for (const source of container.envFrom ?? []) {
		const data = source.configMapRef
			? configMapData(objects, source.configMapRef.name ?? "")
			: source.secretRef
				? secretData(facts, source.secretRef.name ?? "")
				: {};
		for (const [key, value] of Object.entries(data))
			env[`${source.prefix ?? ""}${key}`] = value;
	}
	for (const variable of container.env ?? []) {
		const from = variable.valueFrom;
		if (variable.value !== undefined) env[variable.name] = variable.value;
		else if (from?.configMapKeyRef)
			env[variable.name] = requireKey(
				configMapData(objects, from.configMapKeyRef.name ?? ""),
				from.configMapKeyRef.key,
				`ConfigMap ${from.configMapKeyRef.name}`,
			);
		else if (from?.secretKeyRef)
			env[variable.name] = requireKey(
				secretData(facts, from.secretKeyRef.name ?? ""),
				from.secretKeyRef.key,
				`Secret ${from.secretKeyRef.name}`,
			);
		else
			throw new Error(
				`env ${variable.name}: only value, configMapKeyRef and secretKeyRef are supported here`,
			);
	}
	return env;
}

/**
 * The arguments after `podman run` for `container` of `pod`: flags, the
 * image, then the args. Volumes are written under a temp dir removed at
 * teardown. `extraFlags` go before the image (e.g. `--detach --name x`).
 */
export async function podmanRunArgs(
	t: Pick<Test, "teardown">,
	pod: IPodSpec,
	container: IContainer,
	objects: readonly KubeObject[],
	facts: ClusterFacts,
	extraFlags: readonly string[] = [],
): Promise<string[]> {
	const podContext = pod.securityContext ?? {};
	const context = container.securityContext ?? {};
	const user = context.runAsUser ?? podContext.runAsUser;
	const group = context.runAsGroup ?? podContext.runAsGroup;
	if (user === undefined)
		throw new Error(
			`${container.name}: no runAsUser, so the image's user would run`,
		);
	if ((context.runAsNonRoot ?? podContext.runAsNonRoot) && user === 0)
		throw new Error(
			`${container.name}: runAsNonRoot with runAsUser 0: the kubelet refuses to start it`,
		);
	const flags: string[] = [
		"--network",
		facts.network,
		// Kubernetes ignores an image's HEALTHCHECK; its probes replace it.
		"--no-healthcheck",
		"--user",
		group === undefined ? String(user) : `${user}:${group}`,
	];
	if (podContext.fsGroup !== undefined)
		flags.push("--group-add", String(podContext.fsGroup));
	for (const extra of podContext.supplementalGroups ?? [])
		flags.push("--group-add", String(extra));
	if (context.readOnlyRootFilesystem)
		// podman would mount tmpfs on /tmp, /run and /var/tmp; a pod gets none.
		flags.push("--read-only", "--read-only-tmpfs=false");
	for (const cap of context.capabilities?.drop ?? [])
		flags.push(`--cap-drop=${cap}`);
	for (const cap of context.capabilities?.add ?? [])
		flags.push(`--cap-add=${cap}`);
	if (context.allowPrivilegeEscalation === false)
		flags.push("--security-opt", "no-new-privileges");
	const limits = container.resources?.limits ?? {};
	if (limits.memory !== undefined)
		flags.push("--memory", String(parseQuantity(String(limits.memory))));
	if (limits.cpu !== undefined)
		flags.push("--cpus", String(parseQuantity(String(limits.cpu))));
	for (const [host, address] of Object.entries(facts.hosts ?? {}))
		flags.push("--add-host", `${host}:${address}`);
	for (const [key, value] of Object.entries(
		resolveEnv(container, objects, facts),
	))
		flags.push("--env", `${key}=${value}`);
	if (container.workingDir) flags.push("--workdir", container.workingDir);

	const root = await mkdtemp(join(tmpdir(), "sherpany-volumes-"));
	t.teardown(() => rm(root, { recursive: true, force: true }));
	for (const mount of container.volumeMounts ?? []) {
		if (mount.subPath || mount.subPathExpr)
			throw new Error(
				`${container.name}: subPath mounts are not supported here`,
			);
		const volume = pod.volumes?.find((v) => v.name === mount.name);
		if (!volume) throw new Error(`${container.name}: no volume ${mount.name}`);
		const source = join(root, volume.name);
		const readOnly = await writeVolume(
			source,
			volume,
			objects,
			facts,
			podContext.fsGroup,
		);
		flags.push(
			"--mount",
			`type=bind,source=${source},target=${mount.mountPath}${readOnly || mount.readOnly ? ",readonly" : ""}`,
		);
	}
	if (container.command)
		flags.push("--entrypoint", JSON.stringify(container.command));
	return [...flags, ...extraFlags, facts.image, ...(container.args ?? [])];
}

/** Writes a volume's files as the kubelet would; returns whether it is read-only by nature. */
async function writeVolume(
	dir: string,
	volume: IVolume,
	objects: readonly KubeObject[],
	facts: ClusterFacts,
	fsGroup: number | undefined,
): Promise<boolean> {
	await mkdir(dir);
	await chmod(dir, 0o755);
	type Item = { key: string; path: string; mode?: number };
	const files: { path: string; content: string; mode: number }[] = [];
	const add = (
		data: Record<string, string>,
		what: string,
		items: Item[] | undefined,
		mode: number,
	) => {
		for (const item of items ??
			Object.keys(data).map((key): Item => ({ key, path: key })))
			files.push({
				path: item.path,
				content: requireKey(data, item.key, what),
				mode: item.mode ?? mode,
			});
	};
	if (volume.emptyDir) {
		// An emptyDir is world-writable, like the kubelet makes it.
		await chmod(dir, 0o777);
		return false;
	}
	if (volume.secret) {
		const name = volume.secret.secretName ?? "";
		add(
			secretData(facts, name),
			`Secret ${name}`,
			volume.secret.items,
			volume.secret.defaultMode ?? 0o644,
		);
	} else if (volume.configMap) {
		const name = volume.configMap.name ?? "";
		add(
			configMapData(objects, name, facts),
			`ConfigMap ${name}`,
			volume.configMap.items,
			volume.configMap.defaultMode ?? 0o644,
		);
	} else if (volume.projected) {
		const mode = volume.projected.defaultMode ?? 0o644;
		for (const source of volume.projected.sources ?? []) {
			if (source.secret) {
				const name = source.secret.name ?? "";
				add(
					secretData(facts, name),
					`Secret ${name}`,
					source.secret.items,
					mode,
				);
			} else if (source.configMap) {
				const name = source.configMap.name ?? "";
				add(
					configMapData(objects, name, facts),
					`ConfigMap ${name}`,
					source.configMap.items,
					mode,
				);
			} else
				throw new Error(`volume ${volume.name}: unsupported projected source`);
		}
	} else {
		throw new Error(
			`volume ${volume.name}: only secret, configMap, projected and emptyDir are supported here`,
		);
	}
	for (const file of files) {
		const path = join(dir, file.path);
		await writeFile(path, file.content);
		// Secret and ConfigMap files belong to root, group fsGroup, with the manifest's mode.
		if (fsGroup !== undefined && process.getuid?.() === 0)
			await chown(path, 0, fsGroup);
		await chmod(path, file.mode);
	}
	return true;
}

function configMapData(
	objects: readonly KubeObject[],
	name: string,
	facts?: Pick<ClusterFacts, "configMapData">,
): Record<string, string> {
	const configMap = objects.find(
		(o) => o.kind === "ConfigMap" && o.metadata.name === name,
	);
	if (!configMap)
		throw new Error(`ConfigMap ${name} is not in the rendered objects`);
	const override = Object.entries(facts?.configMapData ?? {}).find(
		([base]) =>
			name === base || new RegExp(`^${base}-[a-z0-9]{10}$`).test(name),
	)?.[1];
	return { ...((configMap.data ?? {}) as Record<string, string>), ...override };
}

function secretData(
	facts: Pick<ClusterFacts, "secrets">,
	name: string,
): Record<string, string> {
	const data = facts.secrets[name];
	if (!data) throw new Error(`the test supplies no Secret ${name}`);
	return { ...data };
}

function requireKey(
	data: Record<string, string>,
	key: string,
	what: string,
): string {
	const value = data[key];
	if (value === undefined) throw new Error(`${what} has no key ${key}`);
	return value;
}

/** A Kubernetes quantity as a number: `384Mi` → bytes, `250m` → 0.25, `1` → 1. */
export function parseQuantity(quantity: string): number {
	const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(quantity);
	if (!match) throw new Error(`unsupported quantity ${quantity}`);
	const factors: Record<string, number> = {
		"": 1,
		m: 0.001,
		k: 1e3,
		M: 1e6,
		G: 1e9,
		T: 1e12,
		Ki: 2 ** 10,
		Mi: 2 ** 20,
		Gi: 2 ** 30,
		Ti: 2 ** 40,
	};
	return Number(match[1]) * (factors[match[2] ?? ""] as number);
}
