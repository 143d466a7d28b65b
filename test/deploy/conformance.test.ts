/**
 * Conformance: the rendered Deployment and seed CronJob, run as the kubelet
 * would run them, in the built image, against a real PostgreSQL.
 *
 * For each way of reaching the database (the base's `DATABASE_URL_FILE`, the
 * postgres component's libpq variables with `PGPASSWORD_FILE`, the
 * external-db component's verify-full TLS with a CA bundle), it takes from
 * the manifests the exact command and args of the init container, the main
 * container, the liveness probe and the seed Job, their environment (the
 * ConfigMaps and env entries resolved), their secret files at the mounted
 * paths with the manifest's modes and fsGroup, their user, capabilities,
 * read-only root and memory and CPU limits, and runs them with podman in a
 * network namespace of their own (a pod's). Then: the startup, readiness and
 * liveness probes pass within their limits, the Services' named ports serve
 * what they should, and SIGTERM ends serve cleanly within the grace period
 * left after preStop.
 *
 * The image is run by the ID its build reported (`npm run image`): on a
 * shared machine another checkout may move the tags.
 *
 * With the postgres component (and the dev overlay, which uses it) the
 * database is made the way the component makes it: the StatefulSet's own
 * initdb scripts (its ConfigMap, roles.sql and logins.sql) run as the postgres
 * image would run them, and the app roles must then log in with the
 * passwords those scripts read from the Secret. migrate and seed must work as
 * sherpany_migrate, serve as sherpany_serve, whose credentials cannot INSERT.
 *
 * What the manifests leave to the cluster the test supplies: the Secrets'
 * contents, Service DNS names (pointed at the pod's 127.0.0.1, where a
 * bridge forwards port 5432 to the test PostgreSQL), and the CA bundle an
 * overlay would put in place of the external-db placeholder.
 */
import { readFile } from "node:fs/promises";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IContainer, IPodSpec, IService } from "kubernetes-models/v1";
import { Client } from "pg";
import t, { type Test } from "tap";
import { shutdownDeadlineMs } from "../../src/commands/serve-shutdown.ts";
import { loadCheckHealthConfig } from "../../src/config/check-health.ts";
import { loadServerConfig } from "../../src/config/server.ts";
import { imageOrSkip } from "../helpers/image.ts";
import { podmanRunArgs, resolveEnv } from "../helpers/kube-container.ts";
import { podSpecOf } from "../helpers/kube-policy.ts";
import {
	findObject,
	type KubeObject,
	kustomize,
	renderWith,
} from "../helpers/kustomize.ts";
import { type PodSandbox, startPodSandbox } from "../helpers/pod-sandbox.ts";
import { podman, podmanOk } from "../helpers/podman.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { requirePasswords } from "../helpers/postgres-hba.ts";
import { runImageInitdb } from "../helpers/postgres-initdb.ts";
import { useServerCertificate } from "../helpers/server-certificate.ts";

const { version } = JSON.parse(
	await readFile(new URL("../../package.json", import.meta.url), "utf8"),
) as { version: string };

/** What the CloudNativePG operator runs after creating the cluster (postInitApplicationSQLRefs). */
const CNPG_SERVE_ROLE_SQL = new URL(
	"../../deploy/kubernetes/components/cloudnativepg/serve-role.sql",
	import.meta.url,
);

/** The port the manifests' database settings name (PGPORT, and the URLs the test writes). */
const POSTGRES_PORT = 5432;

interface Variant {
	readonly label: string;
	/** The base with these components, or the overlay when one is named. */
	readonly components: readonly string[];
	readonly overlay?: string;
	/** The image the manifests name; the locally built one runs in its place. */
	readonly manifestImage?: string;
	readonly ssl: boolean;
	/** The roles that must own the tables and hold serve's sessions, when not the postgres component's. */
	readonly roles?: { readonly owner: string; readonly serve: string };
	/** Prepares the database and returns the Secret, DNS and ConfigMap facts for it. */
	setUp(
		pg: Awaited<ReturnType<typeof startPostgres>>,
		t: Test,
	): Promise<{
		database: string;
		secrets: Record<string, Record<string, string>>;
		hosts?: Record<string, string>;
		configMapData?: Record<string, Record<string, string>>;
	}>;
}

const VARIANTS: Variant[] = [
	{
		label:
			"base: DATABASE_URL_FILE reads the Secret's uri, TLS required (PG_SSLMODE_MIN)",
		components: ["seed-job"],
		ssl: true,
		async setUp(pg) {
			const database = new URL(await pg.createDatabase()).pathname.slice(1);
			return {
				database,
				secrets: {
					"sherpany-database": {
						uri: `postgres://postgres@127.0.0.1:${POSTGRES_PORT}/${database}?sslmode=require`,
					},
				},
			};
		},
	},
	{
		label: "postgres component: libpq variables and PGPASSWORD_FILE",
		components: ["postgres", "seed-job"],
		ssl: false,
		// The database and its roles come from the StatefulSet's initdb (runVariant).
		async setUp() {
			return {
				database: "sherpany",
				secrets: {
					"sherpany-database": {
						"superuser-password": "superuser-password-of-the-test",
						"migrate-password": "migrate-password-of-the-test",
						"serve-password": "serve-password-of-the-test",
					},
				},
				hosts: { "sherpany-postgres": "127.0.0.1" },
			};
		},
	},
	{
		label: "external-db component: verify-full against the CA bundle ConfigMap",
		components: ["external-db", "seed-job"],
		ssl: true,
		async setUp(pg) {
			const database = new URL(await pg.createDatabase()).pathname.slice(1);
			// The server certificate names localhost and 127.0.0.1.
			return {
				database,
				secrets: {
					"sherpany-database": {
						uri: `postgres://postgres@localhost:${POSTGRES_PORT}/${database}`,
					},
				},
				configMapData: {
					"sherpany-database-ca": {
						"ca.crt": await readFile(pg.caFile as string, "utf8"),
					},
				},
			};
		},
	},
	{
		label:
			"cloudnativepg component: migrate and seed as the owner from the operator's app secret, serve as the read-only role, verify-full on the -rw service",
		components: ["cloudnativepg", "seed-job"],
		ssl: true,
		roles: { owner: "app", serve: "sherpany_serve" },
		async setUp(pg, t) {
			// What the operator makes: database and owner app, a server
			// certificate naming the -rw service, the read-only role from
			// serve-role.sql (postInitApplicationSQLRefs, run as the
			// superuser in database app) with the password of
			// sherpany-db-serve (managed.roles), and the secrets below.
			await pg.query(pg.adminUrl, "CREATE ROLE app LOGIN");
			await pg.query(pg.adminUrl, "CREATE DATABASE app OWNER app");
			const appUrl = pg.adminUrl.replace(/\/[^/?]*(\?|$)/, "/app$1");
			await pg.query(appUrl, await readFile(CNPG_SERVE_ROLE_SQL, "utf8"));
			await pg.query(
				pg.adminUrl,
				"ALTER ROLE sherpany_serve PASSWORD 'serve-not-checked-trust-auth'",
			);
			const host = "sherpany-db-rw.sherpany";
			const ca = await useServerCertificate(t, pg, [host, "sherpany-db-rw"]);
			return {
				database: "app",
				secrets: {
					"sherpany-db-serve": {
						username: "sherpany_serve",
						password: "serve-not-checked-trust-auth",
					},
					"sherpany-db-app": {
						username: "app",
						password: "not-checked-trust-auth",
						dbname: "app",
						host: "sherpany-db-rw",
						port: String(POSTGRES_PORT),
						uri: `postgresql://app:not-checked-trust-auth@${host}:${POSTGRES_PORT}/app`,
					},
					// Only ca.crt may reach the pod.
					"sherpany-db-ca": { "ca.crt": ca, "ca.key": "must not be mounted" },
				},
				hosts: { [host]: "127.0.0.1", "sherpany-db-rw": "127.0.0.1" },
			};
		},
	},
	{
		label: "overlay dev: as applied, with its generated Secret",
		components: [],
		overlay: "dev",
		manifestImage: `localhost/sherpany:${version}`,
		ssl: false,
		// The database and its roles come from the StatefulSet's initdb (runVariant).
		async setUp() {
			// The Secret is the overlay's own (secretGenerator), read from the rendered objects.
			return {
				database: "sherpany",
				secrets: {},
				hosts: { "sherpany-postgres": "127.0.0.1" },
			};
		},
	},
];

const image = await imageOrSkip(t);
if (image && process.getuid?.() !== 0) {
	const message =
		"the conformance test needs root (a network namespace per pod: ip netns add)";
	if (process.env.CI) throw new Error(`${message}; CI is set, so this fails`);
	t.plan(0, message);
} else if (image) {
	// Each variant has its own PostgreSQL, namespace and container names: two
	// at a time keeps the file well inside tap's timeout on a busy machine.
	t.jobs = 2;
	for (const variant of VARIANTS)
		t.test(variant.label, (t) => runVariant(t, variant, image.id));
}

async function runVariant(
	t: Test,
	variant: Variant,
	localImage: string,
): Promise<void> {
	const objects = variant.overlay
		? await kustomize(`overlays/${variant.overlay}`)
		: await renderWith(variant.components);
	const deployment = findObject<IDeployment & KubeObject>(
		objects,
		"Deployment",
		"sherpany",
	);
	const pod = deployment.spec?.template.spec as IPodSpec;
	const migrate = pod.initContainers?.find(
		(c) => c.name === "migrate",
	) as IContainer;
	const serve = pod.containers.find((c) => c.name === "sherpany") as IContainer;
	t.ok(
		migrate && serve,
		"the Deployment has the migrate init container and the sherpany container",
	);
	t.equal(
		serve.image,
		variant.manifestImage ?? `ghcr.io/sherpany/sherpany:${version}`,
		"the manifest's image is this version's",
	);

	// What this suite proves does not depend on the PostgreSQL version, which
	// the database suites cover: one server keeps CI's run short.
	const pg = await startPostgres(t, { ssl: variant.ssl, everyServer: false });
	const cluster = await variant.setUp(pg, t);
	const portOf = (name: string | number | undefined): number => {
		const port = serve.ports?.find(
			(p) => p.name === name || p.containerPort === name,
		)?.containerPort;
		if (port === undefined)
			throw new Error(`the container has no port ${name}`);
		return port;
	};
	const sandbox = await startPodSandbox(t, {
		expose: (serve.ports ?? []).map((p) => p.containerPort),
		forward: { [POSTGRES_PORT]: { host: "127.0.0.1", port: pg.port } },
	});
	// Secrets the manifests themselves carry (an overlay's secretGenerator), then the test's.
	const renderedSecrets = Object.fromEntries(
		objects
			.filter((o) => o.kind === "Secret")
			.map((o) => [
				o.metadata.name,
				Object.fromEntries(
					Object.entries((o.data ?? {}) as Record<string, string>).map(
						([key, value]) => [
							key,
							Buffer.from(value, "base64").toString("utf8"),
						],
					),
				),
			]),
	);
	const facts = {
		...cluster,
		secrets: { ...renderedSecrets, ...cluster.secrets },
		image: localImage,
		network: sandbox.network,
	};
	const databaseUrl = pg.adminUrl.replace(
		/\/postgres$/,
		`/${cluster.database}`,
	);
	const migrateEnv = resolveEnv(migrate, objects, facts);
	const serveEnv = resolveEnv(serve, objects, facts);

	// The in-cluster PostgreSQL: its own first-start scripts make the database
	// and the roles, which from then on must give their passwords.
	const initdb = objects.some(
		(o) => o.kind === "StatefulSet" && o.metadata.name === "sherpany-postgres",
	)
		? await runImageInitdb(t, pg, objects, facts)
		: undefined;
	if (initdb) {
		t.same(
			[initdb.database, ...initdb.scripts],
			[cluster.database, "10-roles.sql", "20-logins.sql"],
			"the StatefulSet's initdb made the database and ran roles.sql, then logins.sql",
		);
		t.same(
			[migrateEnv.PGUSER, serveEnv.PGUSER],
			["sherpany_migrate", "sherpany_serve"],
			"migrate connects as the owner role, serve as the read-only one",
		);
		await requirePasswords(pg, ["sherpany_migrate", "sherpany_serve"]);
	}

	// Init container: every replica runs it, possibly at once; all must succeed.
	const initArgs = await podmanRunArgs(t, pod, migrate, objects, facts, [
		"--rm",
	]);
	const inits = await Promise.all([
		podman(["run", ...initArgs]),
		podman(["run", ...initArgs]),
	]);
	for (const [i, result] of inits.entries())
		t.equal(
			result.code,
			0,
			`init container ${i + 1} of 2 (${migrate.args?.join(" ")}) exits 0`,
			{ stderr: result.stderr },
		);
	const [{ count } = { count: -1 }] = await pg.query(
		databaseUrl,
		"SELECT count(*)::int AS count FROM users",
	);
	t.equal(count, 0, "the migrated schema has an empty users table");
	if (initdb || variant.roles) {
		const owner = variant.roles?.owner ?? "sherpany_migrate";
		const owners = await pg.query(
			databaseUrl,
			"SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'",
		);
		t.same(
			owners.map((row) => row.tableowner),
			[owner],
			`migrate ran as ${owner}, which owns every table`,
		);
	}

	// The main container, until the startup probe passes.
	const name = `sherpany-conformance-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
	t.teardown(() => podman(["rm", "--force", "--time", "1", name]));
	await podmanOk([
		"run",
		...(await podmanRunArgs(t, pod, serve, objects, facts, [
			"--detach",
			"--name",
			name,
		])),
	]);
	const startup = serve.startupProbe?.httpGet;
	t.ok(startup, "the startup probe is an HTTP GET");
	const startupBudgetMs =
		(serve.startupProbe?.periodSeconds ?? 10) *
		(serve.startupProbe?.failureThreshold ?? 3) *
		1000;
	const started = Date.now();
	const startupAnswer = await pollUntil200(
		sandbox,
		portOf(startup?.port),
		startup?.path ?? "/",
		startupBudgetMs,
	);
	t.equal(
		startupAnswer.status,
		200,
		`startup probe GET ${startup?.path} on ${startup?.port} answers 200 within ${startupBudgetMs} ms (took ${Date.now() - started} ms)`,
		{ logs: await logsOf(name) },
	);

	const readiness = serve.readinessProbe?.httpGet;
	t.same(readiness?.path, "/ready", "the readiness probe GETs /ready");
	const ready = await sandbox.get(
		portOf(readiness?.port),
		readiness?.path ?? "",
		(serve.readinessProbe?.timeoutSeconds ?? 1) * 1000,
	);
	t.equal(
		ready.status,
		200,
		`readiness probe GET ${readiness?.path} on ${readiness?.port} answers 200`,
		{ body: ready.body },
	);
	t.match(
		JSON.parse(ready.body),
		{ status: "ready" },
		"the database is reachable and the schema current",
	);
	const [sessions] = await pg.query(
		databaseUrl,
		`SELECT count(*)::int AS count, coalesce(bool_and(s.ssl), false) AS ssl,
		   array_agg(DISTINCT a.usename::text) AS users
		 FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
		 WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()`,
	);
	t.ok(Number(sessions?.count) > 0, "serve holds a connection to the database");
	if (initdb || variant.roles)
		t.same(
			sessions?.users,
			[variant.roles?.serve ?? "sherpany_serve"],
			"every serve connection is the read-only role's",
		);
	t.equal(
		sessions?.ssl,
		variant.ssl,
		variant.ssl
			? "every serve connection uses TLS"
			: "serve connects without TLS, as configured",
	);

	// The exec liveness probe, inside the running container, within its timeout.
	const liveness = serve.livenessProbe?.exec?.command ?? [];
	t.same(
		liveness.slice(1),
		["check-health"],
		"the liveness probe runs check-health",
	);
	const probeStart = Date.now();
	const probe = await podman(["exec", name, ...liveness]);
	const probeMs = Date.now() - probeStart;
	t.equal(probe.code, 0, `liveness probe ${liveness.join(" ")} exits 0`, {
		stderr: probe.stderr,
	});
	const timeoutMs = (serve.livenessProbe?.timeoutSeconds ?? 1) * 1000;
	t.ok(
		probeMs < timeoutMs,
		`the liveness probe took ${probeMs} ms, within its ${timeoutMs} ms timeout (podman exec included)`,
	);
	const env = resolveEnv(serve, objects, facts);
	t.ok(
		loadCheckHealthConfig(env).timeoutMs < timeoutMs,
		"check-health gives up before the kubelet's probe timeout",
	);

	// The Services' named target ports: the API on one, /metrics only on the other.
	const api = findObject<IService & KubeObject>(objects, "Service", "sherpany");
	const admin = findObject<IService & KubeObject>(
		objects,
		"Service",
		"sherpany-admin",
	);
	const apiPort = portOf(api.spec?.ports?.[0]?.targetPort);
	const adminPort = portOf(admin.spec?.ports?.[0]?.targetPort);
	const users = await sandbox.get(apiPort, "/users");
	t.equal(users.status, 200, "Service sherpany's target port serves /users");
	t.equal(
		(await sandbox.get(apiPort, "/metrics")).status,
		404,
		"Service sherpany's target port does not serve /metrics",
	);
	t.equal(
		(await sandbox.get(adminPort, "/metrics")).status,
		200,
		"Service sherpany-admin's target port serves /metrics",
	);

	// The seed Job template, run as `kubectl create job --from=cronjob/...` would.
	const cronJob = findObject(objects, "CronJob", "sherpany-seed");
	const seedPod = podSpecOf(cronJob) as IPodSpec;
	const seedContainer = seedPod.containers[0] as IContainer;
	for (const round of [1, 2]) {
		const seeded = await podman([
			"run",
			...(await podmanRunArgs(t, seedPod, seedContainer, objects, facts, [
				"--rm",
			])),
		]);
		t.equal(
			seeded.code,
			0,
			`seed Job (${seedContainer.args?.join(" ")}) exits 0, run ${round}`,
			{ stderr: seeded.stderr },
		);
	}
	const seededUsers = JSON.parse(
		(await sandbox.get(apiPort, "/users")).body,
	) as { email: string }[];
	t.same(
		seededUsers.map((u) => u.email),
		["john@example.com", "jane@example.com", "bob@example.com"],
		"the sample users, once, after two seed runs",
	);

	// The seed Job wrote as the owner; serve's own credentials cannot.
	if (serveEnv.PGUSER === "sherpany_serve") {
		const reader = new Client({
			host: "127.0.0.1",
			port: pg.port,
			database: cluster.database,
			user: serveEnv.PGUSER,
			password: mountedSecret(pod, serve, serveEnv.PGPASSWORD_FILE, facts),
		});
		await reader.connect();
		t.teardown(() => reader.end());
		await t.rejects(
			reader.query(
				"INSERT INTO users (name, email) VALUES ('Mallory', 'mallory@example.com')",
			),
			{ code: "42501" },
			"serve's credentials (PGUSER, PGPASSWORD_FILE) log in, and INSERT is refused",
		);
	}

	// A manifest that breaks the binary's contract fails: a moved secret mount.
	const moved = {
		...migrate,
		volumeMounts: migrate.volumeMounts?.map((m) => ({
			...m,
			mountPath: `${m.mountPath}-moved`,
		})),
	};
	const broken = await podman([
		"run",
		...(await podmanRunArgs(t, pod, moved, objects, facts, ["--rm"])),
	]);
	t.equal(broken.code, 2, "migrate with its secret mounted elsewhere exits 2", {
		stderr: broken.stderr,
	});
	t.match(
		broken.stderr,
		/_FILE/,
		"and says which *_FILE setting it could not read",
	);

	// Memory: what this run peaked at, against the manifest's limit.
	const peak = await peakMemory(name);
	if (peak !== undefined)
		t.comment(
			`serve's container peaked at ${(peak / 2 ** 20).toFixed(0)} MiB (page cache included) under the ${serve.resources?.limits?.memory} limit`,
		);

	// Shutdown: preStop, then SIGTERM; serve must end by itself within the grace period.
	const grace = (pod.terminationGracePeriodSeconds ?? 30) * 1000;
	const preStop = (serve.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
	const deadline = shutdownDeadlineMs(loadServerConfig(env));
	t.ok(
		preStop + deadline <= grace,
		`preStop ${preStop} ms + serve's shutdown deadline ${deadline} ms fit the ${grace} ms grace period`,
	);
	t.ok(
		preStop > 0 || Number(env.SHUTDOWN_DELAY_MS) > 0,
		"something delays the shutdown while endpoints are updated",
	);
	const stopStart = Date.now();
	await podmanOk(["kill", "--signal", "TERM", name]);
	const exitCode = Number(
		(await podmanOk(["wait", name], grace + 10_000)).trim(),
	);
	const stopMs = Date.now() - stopStart;
	t.equal(exitCode, 0, "serve exits 0 on SIGTERM");
	t.equal(
		(
			await podmanOk(["inspect", "--format", "{{.State.OOMKilled}}", name])
		).trim(),
		"false",
		"and was never OOM-killed under its memory limit",
	);
	t.ok(
		preStop + stopMs < grace,
		`and within the grace period: preStop ${preStop} ms + ${stopMs} ms < ${grace} ms`,
	);
}

/** The content of the Secret key that `container` sees at `file`. */
function mountedSecret(
	pod: IPodSpec,
	container: IContainer,
	file: string | undefined,
	facts: { secrets: Record<string, Record<string, string>> },
): string {
	for (const mount of container.volumeMounts ?? []) {
		if (!file?.startsWith(`${mount.mountPath}/`)) continue;
		const secret = pod.volumes?.find((v) => v.name === mount.name)?.secret;
		const path = file.slice(mount.mountPath.length + 1);
		const key = secret?.items
			? secret.items.find((item) => item.path === path)?.key
			: path;
		const value = facts.secrets[secret?.secretName ?? ""]?.[key ?? ""];
		if (value !== undefined) return value;
	}
	throw new Error(`${container.name}: no Secret key is mounted at ${file}`);
}

async function pollUntil200(
	sandbox: PodSandbox,
	port: number,
	path: string,
	budgetMs: number,
) {
	const deadline = Date.now() + budgetMs;
	let last = { status: 0, body: "" };
	while (Date.now() < deadline) {
		last = await sandbox
			.get(port, path, 1000)
			.catch((error: Error) => ({ status: 0, body: error.message }));
		if (last.status === 200) return last;
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
	return last;
}

async function logsOf(name: string): Promise<string> {
	const { stdout, stderr } = await podman(["logs", "--tail", "20", name]);
	return `${stdout}${stderr}`;
}

/** The container cgroup's peak memory in bytes (cgroup v1 or v2), when the kernel reports it. */
async function peakMemory(name: string): Promise<number | undefined> {
	const path = (
		await podmanOk(["inspect", "--format", "{{.State.CgroupPath}}", name])
	).trim();
	for (const file of [
		`/sys/fs/cgroup/memory${path}/memory.max_usage_in_bytes`,
		`/sys/fs/cgroup${path}/memory.peak`,
	]) {
		const text = await readFile(file, "utf8").catch(() => undefined);
		if (text !== undefined) return Number(text.trim());
	}
	return undefined;
}
