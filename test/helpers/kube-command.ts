/**
 * Runs a container's `command` and `args`, taken from a rendered manifest
 * unchanged, on this machine instead of in its image: for the shell scripts
 * of images the tests cannot pull (the postgres image of the backup
 * CronJob). The environment is the container's, resolved from its
 * ConfigMaps and env entries (test/helpers/kube-container.ts); its Secret
 * volumes are written as files, its emptyDirs and PersistentVolumeClaims are
 * directories, and an environment value naming a path under a mount is
 * pointed at the same path in that directory.
 *
 * What differs from the pod: the programs are this machine's (PATH is
 * `path` then the machine's), and the test may set variables on top (the
 * database's address).
 *
 * @module
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IContainer, IPodSpec } from "kubernetes-models/v1";
import type { Test } from "tap";
import { type ClusterFacts, resolveEnv } from "./kube-container.ts";
import type { KubeObject } from "./kustomize.ts";

/** What a run on the host needs beside the manifest. */
export interface HostRunFacts extends Pick<ClusterFacts, "secrets"> {
	/** Host directory of each PersistentVolumeClaim, by claim name. */
	readonly claims: Readonly<Record<string, string>>;
	/** Variables set after the container's own (such as PGHOST and PGPORT). */
	readonly env?: Readonly<Record<string, string>>;
	/** Directories searched before the machine's PATH (a PostgreSQL bindir). */
	readonly path?: readonly string[];
}

/** Exit code and output of one run. */
export interface HostRunResult {
	readonly code: number;
	readonly stdout: string;
	readonly stderr: string;
}

/** Runs `container` of `pod` once on the host; resolves whatever its exit code. */
export async function runOnHost(
	t: Pick<Test, "teardown">,
	pod: IPodSpec,
	container: IContainer,
	objects: readonly KubeObject[],
	facts: HostRunFacts,
): Promise<HostRunResult> {
	const [file, ...args] = [
		...(container.command ?? []),
		...(container.args ?? []),
	];
	if (file === undefined)
		throw new Error(`${container.name}: no command: the image's would run`);
	const root = await mkdtemp(join(tmpdir(), "sherpany-host-run-"));
	t.teardown(() => rm(root, { recursive: true, force: true }));
	const mounts: [string, string][] = [];
	for (const mount of container.volumeMounts ?? []) {
		const volume = pod.volumes?.find((v) => v.name === mount.name);
		if (!volume) throw new Error(`${container.name}: no volume ${mount.name}`);
		let dir: string;
		if (volume.persistentVolumeClaim) {
			const claim = volume.persistentVolumeClaim.claimName;
			const given = facts.claims[claim];
			if (given === undefined)
				throw new Error(`the test supplies no directory for claim ${claim}`);
			dir = given;
		} else if (volume.emptyDir) {
			dir = join(root, volume.name);
			await mkdir(dir, { mode: 0o700 });
		} else if (volume.secret) {
			dir = join(root, volume.name);
			await mkdir(dir, { mode: 0o700 });
			const name = volume.secret.secretName ?? "";
			const data = facts.secrets[name];
			if (!data) throw new Error(`the test supplies no Secret ${name}`);
			const items =
				volume.secret.items ??
				Object.keys(data).map((key) => ({ key, path: key }));
			for (const item of items) {
				const value = data[item.key];
				if (value === undefined)
					throw new Error(`Secret ${name} has no key ${item.key}`);
				const path = join(dir, item.path);
				await writeFile(path, value);
				await chmod(path, 0o400);
			}
		} else
			throw new Error(
				`volume ${volume.name}: only persistentVolumeClaim, emptyDir and secret are supported here`,
			);
		mounts.push([mount.mountPath, dir]);
	}
	const env: Record<string, string> = {};
	for (const [key, value] of Object.entries(
		resolveEnv(container, objects, facts),
	)) {
		const mount = mounts.find(
			([path]) => value === path || value.startsWith(`${path}/`),
		);
		env[key] = mount ? mount[1] + value.slice(mount[0].length) : value;
	}
	const path = [...(facts.path ?? []), process.env.PATH ?? "/usr/bin:/bin"];
	return new Promise((resolve) => {
		execFile(
			file,
			args,
			{ env: { ...env, ...facts.env, PATH: path.join(":") }, timeout: 120_000 },
			(error, stdout, stderr) =>
				resolve({
					code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
					stdout,
					stderr,
				}),
		);
	});
}
