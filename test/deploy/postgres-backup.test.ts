/**
 * The postgres component's backup and restore, end to end on real
 * PostgreSQL: the backup CronJob's command, exactly as the rendered manifest
 * has it, dumps a database made as the component makes it (roles.sql and
 * logins.sql, then `sherpany migrate` and `seed`); the `pg_restore` line of
 * the component's README restores that dump into a new PostgreSQL that the
 * component's first-start scripts prepared; and `serve` answers `/users` and
 * the NDJSON export byte for byte the same on both. The command keeps the
 * newest BACKUP_KEEP dumps and refuses a bad BACKUP_KEEP.
 *
 * It runs on each server of the run (the system's 15 and npm's 18 in CI):
 * the dump is taken from that server with pg_dump of its major version, and
 * restored with pg_restore of the same into a new server of that version, as
 * the CronJob runs the server's image (test/helpers/postgres-client.ts finds
 * or makes those tools).
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IContainer, IPodSpec } from "kubernetes-models/v1";
import t, { type Test } from "tap";
import { migrateAndSeed, runCli } from "../helpers/cli.ts";
import { runOnHost } from "../helpers/kube-command.ts";
import { podSpecOf } from "../helpers/kube-policy.ts";
import {
	findObject,
	KUBERNETES_DIR,
	renderWith,
} from "../helpers/kustomize.ts";
import { type PostgresCluster, startPostgres } from "../helpers/postgres.ts";
import { clientBindirOrSkip, majorOf } from "../helpers/postgres-client.ts";
import { requirePasswords } from "../helpers/postgres-hba.ts";
import { runImageInitdb } from "../helpers/postgres-initdb.ts";
import { startServe } from "../helpers/serve.ts";

const objects = await renderWith(["postgres"]);
const cronJob = findObject(objects, "CronJob", "sherpany-postgres-backup");
const pod = podSpecOf(cronJob) as IPodSpec;
const container = pod.containers[0] as IContainer;

const SECRET = {
	"superuser-password": "superuser-password-of-the-test",
	// ':' and '\' need escaping in a password file.
	"migrate-password": "migrate:pass\\word of the test",
	"serve-password": "serve-password-of-the-test",
};

/** The restore command of the component's README, after `kubectl exec … --`. */
async function documentedRestore(): Promise<string[]> {
	const readme = await readFile(
		join(KUBERNETES_DIR, "components/postgres/README.md"),
		"utf8",
	);
	const line = readme
		.split("\n")
		.find((l) => l.startsWith("kubectl") && l.includes(" -- pg_restore "));
	if (!line)
		throw new Error("the README has no `kubectl exec … -- pg_restore` line");
	return line.slice(line.indexOf(" -- ") + 4).split(/\s+/);
}

/** PostgreSQL as the component's first start leaves it: roles, passwords, empty database. */
async function componentDatabase(t: Test, pg: PostgresCluster): Promise<void> {
	await runImageInitdb(t, pg, objects, {
		secrets: { "sherpany-database": SECRET },
	});
	// The roles must log in with the Secret's passwords, not by trust.
	await requirePasswords(pg, ["sherpany_migrate", "sherpany_serve"]);
}

function roleUrl(pg: PostgresCluster, role: keyof typeof ROLES): string {
	const password = encodeURIComponent(SECRET[ROLES[role]]);
	return `postgres://${role}:${password}@127.0.0.1:${pg.port}/sherpany`;
}
const ROLES = {
	sherpany_migrate: "migrate-password",
	sherpany_serve: "serve-password",
} as const;

/** Runs the CronJob's container once against `pg`, with dumps in `dir`. */
function runBackup(
	t: Test,
	pg: PostgresCluster,
	dir: string,
	bindir: string,
	env: Record<string, string> = {},
) {
	return runOnHost(t, pod, container, objects, {
		secrets: { "sherpany-database": SECRET },
		claims: { "sherpany-postgres-backup": dir },
		// The address the Service name resolves to in the cluster.
		env: { PGHOST: "127.0.0.1", PGPORT: String(pg.port), ...env },
		path: [bindir],
	});
}

/** The PATH the command runs with gives pg_dump and pg_restore of `major`. */
async function clientIsOf(t: Test, bindir: string, major: number) {
	for (const tool of ["pg_dump", "pg_restore"]) {
		const version = await runOnHost(
			t,
			{ containers: [] },
			{ name: tool, command: [tool, "--version"] },
			[],
			{ secrets: {}, claims: {}, env: {}, path: [bindir] },
		);
		t.match(
			version.stdout,
			`(PostgreSQL) ${major}.`,
			`${tool} on the PATH is ${major}'s`,
		);
	}
}

async function dumps(dir: string): Promise<string[]> {
	return (await readdir(dir)).sort();
}

/** What `serve` answers for /users and the NDJSON export, as bytes. */
async function answers(t: Test, pg: PostgresCluster) {
	const serve = await startServe(t, {
		DATABASE_URL: roleUrl(pg, "sherpany_serve"),
	});
	const get = async (path: string, accept: string) => {
		const response = await fetch(`${serve.baseUrl}${path}`, {
			headers: { Accept: accept },
		});
		t.equal(response.status, 200, `${path} (${accept}) answers 200`);
		return Buffer.from(await response.arrayBuffer());
	};
	const result = {
		users: await get("/users?limit=1000", "application/json"),
		export: await get("/users", "application/x-ndjson"),
	};
	serve.child.kill("SIGTERM");
	await serve.exited;
	return result;
}

async function backupDir(t: Test): Promise<string> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-backup-"));
	t.teardown(() => rm(dir, { recursive: true, force: true }));
	return dir;
}

t.test(
	"a dump by the CronJob, restored by the README's command, serves the same bytes",
	async (t) => {
		// The server of this run (15 or 18), and a new one of it to restore into.
		const source = await startPostgres(t);
		const client = await clientBindirOrSkip(t, source.server);
		if (client === undefined) return;
		const target = await startPostgres(t, { server: source.server });
		t.comment(
			`dump from and restore into ${source.server.label}, with the client tools in ${client}`,
		);
		await clientIsOf(t, client, majorOf(source.server.version));

		await componentDatabase(t, source);
		await migrateAndSeed(t, roleUrl(source, "sherpany_migrate"));
		const more = await runCli(["seed", "--count", "500"], {
			DATABASE_URL: roleUrl(source, "sherpany_migrate"),
		});
		t.equal(more.code, 0, "seed --count 500 exits 0", { stderr: more.stderr });
		// A gap in the ids and a name that needs escaping survive too.
		await source.query(
			`postgres://postgres@127.0.0.1:${source.port}/sherpany`,
			`DELETE FROM users WHERE id = 2; UPDATE users SET name = 'Zoë "Q" O''Brien, \\ tab	end' WHERE id = 3`,
		);
		const before = await answers(t, source);
		t.ok(
			before.export.toString().split("\n").length > 500,
			"503 users exported",
		);

		const dir = await backupDir(t);
		const run = await runBackup(t, source, dir, client);
		t.equal(run.code, 0, "the CronJob's command exits 0", {
			stderr: run.stderr,
		});
		const [dump, ...others] = await dumps(dir);
		t.same(others, [], "one file, and no partial one left");
		t.match(dump, /^sherpany-\d{8}T\d{6}\.\d{9}Z\.dump$/, "named by UTC time");
		t.match(run.stdout, `wrote ${dump}`, "it says what it wrote");
		const header = (await readFile(join(dir, dump as string))).subarray(0, 5);
		t.equal(header.toString(), "PGDMP", "in pg_dump's custom format");

		await componentDatabase(t, target);
		const [program, ...args] = await documentedRestore();
		t.equal(program, "pg_restore", "the README restores with pg_restore");
		const file = join(dir, dump as string);
		const restore = await runOnHost(
			t,
			{ containers: [] },
			{
				name: "restore",
				command: [
					program as string,
					...args.map((arg) =>
						/^\/var\/lib\/sherpany-backup\/sherpany-.*\.dump$/.test(arg)
							? file
							: arg,
					),
				],
			},
			[],
			{
				secrets: {},
				claims: {},
				// `kubectl exec` reaches the server on its socket; here over TCP.
				env: { PGHOST: "127.0.0.1", PGPORT: String(target.port) },
				path: [client],
			},
		);
		t.equal(restore.code, 0, "the README's pg_restore exits 0", {
			stderr: restore.stderr,
		});

		const after = await answers(t, target);
		t.ok(after.users.equals(before.users), "/users: the same bytes");
		t.ok(
			after.export.equals(before.export),
			"the NDJSON export: the same bytes",
		);
		const owners = await target.query(
			`postgres://postgres@127.0.0.1:${target.port}/sherpany`,
			"SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'",
		);
		t.same(owners, [{ tableowner: "sherpany_migrate" }], "owners restored");
		const migrate = await runCli(["migrate"], {
			DATABASE_URL: roleUrl(target, "sherpany_migrate"),
		});
		t.equal(migrate.code, 0, "migrate finds the restored schema up to date", {
			stderr: migrate.stderr,
		});
		const added = await runCli(["seed", "--count", "1"], {
			DATABASE_URL: roleUrl(target, "sherpany_migrate"),
		});
		t.equal(
			added.code,
			0,
			"and the id sequence goes on after the restored rows",
			{
				stderr: added.stderr,
			},
		);
	},
);

t.test(
	"keeps the newest BACKUP_KEEP dumps, and only after a success",
	async (t) => {
		const source = await startPostgres(t);
		const client = await clientBindirOrSkip(t, source.server);
		if (client === undefined) return;
		await componentDatabase(t, source);
		await migrateAndSeed(t, roleUrl(source, "sherpany_migrate"));
		const dir = await backupDir(t);
		const keep = { BACKUP_KEEP: "2" };
		const names: string[] = [];
		for (let i = 0; i < 3; i += 1) {
			const run = await runBackup(t, source, dir, client, keep);
			t.equal(run.code, 0, `run ${i + 1} exits 0`, { stderr: run.stderr });
			names.push(...(await dumps(dir)).filter((n) => !names.includes(n)));
		}
		t.equal(names.length, 3, "each run wrote a new dump");
		t.same(
			await dumps(dir),
			names.slice(1),
			"the oldest was removed, two kept",
		);

		// A failing dump (the server is gone) removes nothing.
		await source.stop();
		const failed = await runBackup(t, source, dir, client, keep);
		t.not(failed.code, 0, "a failed pg_dump fails the Job");
		t.same(
			await dumps(dir),
			names.slice(1),
			"and every kept dump is still there",
		);

		for (const bad of ["0", "", "two", "-1"]) {
			const refused = await runBackup(t, source, dir, client, {
				BACKUP_KEEP: bad,
			});
			t.equal(refused.code, 2, `BACKUP_KEEP='${bad}' is refused with exit 2`);
			t.match(
				refused.stderr,
				/BACKUP_KEEP must be a whole number of 1 or more/,
			);
		}
		t.same(
			await dumps(dir),
			names.slice(1),
			"nothing removed by a refused run",
		);
	},
);

t.test(
	"the backup pods reach PostgreSQL, and nothing reaches them",
	async (t) => {
		const labels = {
			"app.kubernetes.io/name": "sherpany-postgres-backup",
			"app.kubernetes.io/component": "backup",
		};
		t.match(
			cronJob,
			{
				spec: { jobTemplate: { spec: { template: { metadata: { labels } } } } },
			},
			"the CronJob's pods carry the labels below",
		);
		t.match(
			findObject(objects, "NetworkPolicy", "sherpany-postgres"),
			{
				spec: {
					ingress: [{ from: [{}, { podSelector: { matchLabels: labels } }] }],
				},
			},
			"PostgreSQL admits them",
		);
		t.match(
			findObject(objects, "NetworkPolicy", "sherpany-postgres-backup"),
			{
				spec: {
					podSelector: { matchLabels: labels },
					policyTypes: ["Ingress", "Egress"],
					ingress: [],
					egress: [
						{
							to: [
								{
									podSelector: {
										matchLabels: {
											"app.kubernetes.io/name": "sherpany-postgres",
										},
									},
								},
							],
							ports: [{ port: 5432, protocol: "TCP" }],
						},
						{
							ports: [
								{ port: 53 },
								{ port: 53 },
								{ port: 5353 },
								{ port: 5353 },
							],
						},
					],
				},
			},
			"their own policy: in, nothing; out, PostgreSQL and DNS only",
		);
	},
);
