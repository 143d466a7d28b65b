/**
 * Does to a throwaway cluster what the official postgres image's entrypoint
 * does on the first start of an empty volume, with the scripts and settings
 * of a rendered StatefulSet: create `POSTGRES_DB`, then run every `*.sql`
 * file of /docker-entrypoint-initdb.d in name order with `psql -v
 * ON_ERROR_STOP=1 --username $POSTGRES_USER --no-password --no-psqlrc
 * --dbname $POSTGRES_DB`, in the container's environment. The scripts are
 * the rendered ConfigMap's own, not a copy.
 *
 * Run again on the same cluster, it skips the database and runs the scripts
 * again, as an operator does on an existing volume.
 *
 * What differs from the pod: psql runs on the host over TCP, and the
 * container's Secret volumes are written to a temp dir, so an environment
 * value naming a file under a mount path is pointed at the same file there.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IContainer, IPodSpec } from "kubernetes-models/v1";
import type { Test } from "tap";
import { type ClusterFacts, resolveEnv } from "./kube-container.ts";
import { podSpecOf } from "./kube-policy.ts";
import { findObject, type KubeObject } from "./kustomize.ts";
import type { PostgresCluster } from "./postgres.ts";

/** Where the postgres image looks for init scripts. */
const INITDB_DIR = "/docker-entrypoint-initdb.d";

/** What {@link runImageInitdb} did: the database and the scripts it ran. */
export interface ImageInitdbResult {
	readonly database: string;
	readonly scripts: readonly string[];
}

/**
 * Runs the init of StatefulSet `name`'s first container against `pg`.
 * Needs `psql` (the server's bindir, else PATH). Throws when a script fails.
 */
export async function runImageInitdb(
	t: Pick<Test, "teardown">,
	pg: Pick<PostgresCluster, "adminUrl" | "port" | "server" | "query">,
	objects: readonly KubeObject[],
	facts: Pick<ClusterFacts, "secrets">,
	name = "sherpany-postgres",
): Promise<ImageInitdbResult> {
	const pod = podSpecOf(findObject(objects, "StatefulSet", name)) as IPodSpec;
	const container = pod.containers[0] as IContainer;
	const env = resolveEnv(container, objects, facts);
	const superuser = env.POSTGRES_USER ?? "postgres";
	const database = env.POSTGRES_DB ?? superuser;
	// The throwaway cluster's superuser is postgres, with trust auth.
	if (superuser !== "postgres")
		throw new Error(
			`${name}: POSTGRES_USER ${superuser}: only postgres can be emulated here`,
		);
	// Missing only on the first run: a second one is an operator re-running
	// the scripts on an existing volume (the component's README).
	const existing = await pg.query(
		pg.adminUrl,
		`SELECT 1 FROM pg_database WHERE datname = '${database.replaceAll("'", "''")}'`,
	);
	if (existing.length === 0)
		await pg.query(pg.adminUrl, `CREATE DATABASE "${database}"`);

	const root = await mkdtemp(join(tmpdir(), "sherpany-initdb-"));
	t.teardown(() => rm(root, { recursive: true, force: true }));
	const moved: [string, string][] = [];
	let scripts: Record<string, string> = {};
	for (const [index, mount] of (container.volumeMounts ?? []).entries()) {
		const volume = pod.volumes?.find((v) => v.name === mount.name);
		if (mount.mountPath === INITDB_DIR) {
			const configMap = objects.find(
				(o) =>
					o.kind === "ConfigMap" && o.metadata.name === volume?.configMap?.name,
			);
			scripts = (configMap?.data ?? {}) as Record<string, string>;
		} else if (volume?.secret) {
			const dir = join(root, String(index));
			await mkdir(dir, { mode: 0o700 });
			const data = facts.secrets[volume.secret.secretName ?? ""] ?? {};
			const items =
				volume.secret.items ??
				Object.keys(data).map((key) => ({ key, path: key }));
			for (const item of items) {
				const value = data[item.key];
				if (value === undefined)
					throw new Error(
						`Secret ${volume.secret.secretName} has no key ${item.key}`,
					);
				await writeFile(join(dir, item.path), value, { mode: 0o400 });
			}
			moved.push([mount.mountPath, dir]);
		}
	}
	const names = Object.keys(scripts).sort();
	if (names.length === 0)
		throw new Error(`${name}: nothing mounted at ${INITDB_DIR}`);
	const scriptEnv: Record<string, string> = {};
	for (const [key, value] of Object.entries(env)) {
		const mount = moved.find(([path]) => value.startsWith(`${path}/`));
		scriptEnv[key] = mount ? mount[1] + value.slice(mount[0].length) : value;
	}
	const psql = await findPsql(pg.server.bindir);
	for (const script of names) {
		if (!script.endsWith(".sql"))
			throw new Error(`${INITDB_DIR}/${script}: only *.sql is run here`);
		const file = join(root, script);
		await writeFile(file, scripts[script] as string);
		await run(
			psql,
			[
				"-v",
				"ON_ERROR_STOP=1",
				"--username",
				superuser,
				"--no-password",
				"--no-psqlrc",
				"--dbname",
				database,
				"--host",
				"127.0.0.1",
				"--port",
				String(pg.port),
				"--file",
				file,
			],
			// The container's environment, and what psql needs to be found.
			{ PATH: process.env.PATH ?? "/usr/bin:/bin", ...scriptEnv },
		);
	}
	return { database, scripts: names };
}

async function findPsql(bindir: string): Promise<string> {
	const beside = join(bindir, "psql");
	return access(beside).then(
		() => beside,
		() => "psql",
	);
}

function run(
	file: string,
	args: readonly string[],
	env: NodeJS.ProcessEnv,
): Promise<void> {
	return new Promise((resolve, reject) => {
		execFile(file, args, { env }, (error, _stdout, stderr) => {
			if ((error as { code?: unknown } | null)?.code === "ENOENT")
				reject(
					new Error(
						`${file} not found: PostgreSQL's client is needed (sudo bash .ci/install-postgres.sh installs it with the server)`,
					),
				);
			else if (error)
				reject(
					new Error(`${file} ${args.join(" ")} failed: ${stderr.trim()}`, {
						cause: error,
					}),
				);
			else resolve();
		});
	});
}
