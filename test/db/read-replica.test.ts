/**
 * Read replicas on a real primary and a real streaming standby
 * (`pg_basebackup -R`, a replication slot, hot_standby): `serve` runs
 * in-process with `DATABASE_READ_URL` pointing at the standby, and
 * `pg_stat_activity` on both servers says which one served the reads.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { createConnection, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import {
	type RunningServer,
	run as runServe,
} from "../../src/commands/serve.ts";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { loadReadReplicaConfig } from "../../src/config/read-replica.ts";
import { loadServerConfig } from "../../src/config/server.ts";
import { createLogger } from "../../src/logger.ts";
import { checkedFetch } from "../helpers/checked-fetch.ts";
import { runCli } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { startStandby } from "../helpers/postgres-standby.ts";
import { freePort, startServe } from "../helpers/serve.ts";

const MAX_LAG_MS = 1500;
const CHECK_INTERVAL_MS = 200;

// Every await comes before the first t.test: tap ends the file's test once
// its queued subtests are done, and with it the clusters.
const primary = await startPostgres(t, { tools: ["pg_basebackup"] });
const standby = await startStandby(t, primary);

const url = await primary.createDatabase();
const dbName = new URL(url).pathname.slice(1);
{
	const env = { DATABASE_URL: url };
	const migrated = await runCli(["migrate"], env);
	const seeded = await runCli(["seed"], env);
	if (migrated.code !== 0 || seeded.code !== 0)
		throw new Error(`set-up failed: ${migrated.stderr}${seeded.stderr}`);
	await standby.waitForReplay();
}

/** Log lines of the in-process serve. */
const logs: { level: string; msg: string; [key: string]: unknown }[] = [];
const port = await freePort();
const serveEnv = {
	PORT: String(port),
	HOST: "127.0.0.1",
	SHUTDOWN_DELAY_MS: "0",
	QUERY_TIMEOUT_MS: "3000",
	PG_CONNECT_TIMEOUT_MS: "1000",
	DATABASE_URL: url,
	// No user, password or database: they come from the primary's URL.
	DATABASE_READ_URL: `postgres://127.0.0.1:${standby.port}`,
	PG_READ_POOL_MAX: "3",
	READ_MAX_LAG_MS: String(MAX_LAG_MS),
	READ_CHECK_INTERVAL_MS: String(CHECK_INTERVAL_MS),
};
const database = loadDatabaseConfig(serveEnv);
const replica = loadReadReplicaConfig(serveEnv, {}, database);
const serving: RunningServer = await runServe(
	{
		server: loadServerConfig(serveEnv),
		database,
		...(replica ? { replica } : {}),
	},
	{
		logger: createLogger("info", {
			write: (line: string) => void logs.push(JSON.parse(line)),
		}),
	},
);
t.teardown(() => serving.shutdown("test over"));
const base = `http://127.0.0.1:${serving.port}`;

interface ReadyBody {
	status: string;
	checks: Record<string, string>;
}

async function ready(): Promise<{ status: number; body: ReadyBody }> {
	const response = await checkedFetch(`${base}/ready`);
	return {
		status: response.status,
		body: (await response.json()) as ReadyBody,
	};
}

/** Polls `/ready` until its replica check matches, or fails after `timeoutMs`. */
async function waitForReplica(
	pattern: RegExp,
	timeoutMs = 10_000,
): Promise<ReadyBody> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const { body } = await ready();
		if (pattern.test(body.checks.replica ?? "")) return body;
		if (Date.now() > deadline)
			throw new Error(
				`/ready's replica check is still ${JSON.stringify(body.checks.replica)} after ${timeoutMs} ms`,
			);
		await sleep(50);
	}
}

async function users(): Promise<{ status: number; emails: string[] }> {
	const response = await checkedFetch(`${base}/users?limit=1000`);
	const body = (await response.json()) as { email: string }[];
	return {
		status: response.status,
		emails: Array.isArray(body) ? body.map((user) => user.email) : [],
	};
}

/** sherpany's backends on `serverUrl` whose last query read `users`. */
async function usersReaders(
	query: (url: string, sql: string) => Promise<Record<string, unknown>[]>,
	serverUrl: string,
): Promise<number> {
	const [row] = await query(
		serverUrl,
		`select count(*)::int as n from pg_stat_activity
     where datname = '${dbName}' and application_name = 'sherpany'
       and query ilike '%from "users"%'`,
	);
	return Number(row?.n);
}

const onPrimary = (): Promise<number> =>
	usersReaders(primary.query, primary.adminUrl);
const onStandby = (): Promise<number> =>
	usersReaders(standby.query, standby.urlFor(primary.adminUrl));

async function metric(name: string): Promise<number> {
	const text = await (await checkedFetch(`${base}/metrics`)).text();
	const escaped = name.replace(/[{}"]/g, (c) => `\\${c}`);
	const match = new RegExp(`^${escaped} (\\S+)$`, "m").exec(text);
	if (!match) throw new Error(`no ${name} in /metrics`);
	return Number(match[1]);
}

const replicaReads = (): Promise<number> =>
	metric('sherpany_db_reads_total{target="replica"}');

t.test("the harness's standby is a hot standby of the primary", async (t) => {
	const [row] = await standby.query(
		standby.urlFor(primary.adminUrl),
		"select pg_is_in_recovery() as standby",
	);
	t.equal(row?.standby, true);
	const [slot] = await primary.query(
		primary.adminUrl,
		`select active from pg_replication_slots where slot_name = '${standby.slot}'`,
	);
	t.equal(slot?.active, true, "it streams through its slot");
});

t.test("/users and the export are served by the standby", async (t) => {
	const body = await waitForReplica(/^ok$/);
	t.same(body, {
		status: "ready",
		checks: { database: "ok", schema: "ok", replica: "ok" },
	});
	const before = await replicaReads();
	const page = await users();
	t.equal(page.status, 200);
	t.same(page.emails, [
		"john@example.com",
		"jane@example.com",
		"bob@example.com",
	]);
	const ndjson = await checkedFetch(`${base}/users`, {
		headers: { accept: "application/x-ndjson" },
	});
	t.equal(ndjson.status, 200);
	t.equal((await ndjson.text()).trim().split("\n").length, 3);
	t.equal(await replicaReads(), before + 2, "two reads on the replica");
	t.ok((await onStandby()) >= 1, "the standby's pg_stat_activity shows them");
	t.equal(await onPrimary(), 0, "the primary's shows none");
	t.equal(await metric('sherpany_db_reads_total{target="primary"}'), 0);
	t.ok(
		(await metric(
			'sherpany_db_query_duration_seconds_count{outcome="success",target="replica"}',
		)) >= 2,
		"queries are timed by target",
	);
	t.equal(await metric("sherpany_db_replica_fallback"), 0);
	t.equal(await metric("sherpany_db_replica_lag_seconds"), 0);
	t.match(
		await (await checkedFetch(`${base}/metrics`)).text(),
		/^sherpany_db_pool_connections\{state="total",target="replica"\} [1-3]$/m,
	);
	t.ok(
		logs.some((line) => line.msg === "reads go to the read replica"),
		"a log line says so",
	);
	t.match(
		logs.find((line) => line.msg === "listening"),
		{
			readReplica: `postgres://postgres@127.0.0.1:${standby.port}/${dbName} (sslmode=disable)`,
		},
	);
});

t.test("rows inserted on the primary appear once replicated", async (t) => {
	await primary.query(
		url,
		"insert into users (name, email) values ('Replicated', 'replicated@example.com')",
	);
	const deadline = Date.now() + 10_000;
	let page = await users();
	while (!page.emails.includes("replicated@example.com")) {
		if (Date.now() > deadline) break;
		await sleep(50);
		page = await users();
	}
	t.ok(page.emails.includes("replicated@example.com"), "the new row is listed");
	t.equal((await ready()).body.checks.replica, "ok", "still from the standby");
	t.equal(await onPrimary(), 0, "the primary still served no read");
});

t.test(
	"the standby stopped: reads fall back at once, /health stays 200, and return to the standby when it is back",
	async (t) => {
		await standby.stop();
		const started = Date.now();
		const page = await users();
		t.equal(page.status, 200, "the read that found it down was served");
		// A refused connection answers at once; the bound is generous (five
		// times the connect and query timeouts together) for a loaded machine.
		t.ok(Date.now() - started < 20_000, "within the configured timeouts");
		t.ok(page.emails.includes("replicated@example.com"));
		t.ok((await onPrimary()) >= 1, "by the primary");
		t.equal((await checkedFetch(`${base}/health`)).status, 200);
		const { status, body } = await ready();
		t.equal(status, 200, "the pod stays ready: the primary serves reads");
		t.match(body.checks, {
			database: "ok",
			schema: "ok",
			replica: /^unreachable \([^)]+\): reading from the primary$/,
		});
		t.equal(await metric("sherpany_db_replica_fallback"), 1);
		t.equal(
			await metric('sherpany_db_replica_fallbacks_total{reason="unreachable"}'),
			1,
		);
		t.ok(
			logs.some(
				(line) =>
					line.level === "warn" &&
					/^the read replica is unreachable \(.+\): reads go to the primary$/.test(
						line.msg,
					),
			),
			"a warning says so",
		);
		t.equal((await users()).status, 200, "and the next read too");

		await standby.start();
		await waitForReplica(/^ok$/);
		t.ok(
			logs.some(
				(line) =>
					line.msg === "the read replica is healthy again: reads return to it",
			),
		);
		const before = await replicaReads();
		t.equal((await users()).status, 200);
		t.equal(await replicaReads(), before + 1, "the read ran on the standby");
		t.ok((await onStandby()) >= 1, "as its pg_stat_activity shows");
		t.equal(await metric("sherpany_db_replica_fallback"), 0);
	},
);

t.test(
	"an idle primary is not lag: the standby stays in use however old its last replayed commit",
	async (t) => {
		await standby.waitForReplay();
		// Until the last replayed commit is older than the bound, with a few
		// lag checks since (bounded: 60 s).
		const ageMs = async (): Promise<number> => {
			const [row] = await standby.query(
				standby.urlFor(url),
				"select extract(epoch from now() - pg_last_xact_replay_timestamp()) * 1000 as age_ms",
			);
			return Number(row?.age_ms);
		};
		for (let waited = 0; waited < 60_000; waited += 100) {
			if ((await ageMs()) > MAX_LAG_MS + 4 * CHECK_INTERVAL_MS) break;
			await sleep(100);
		}
		t.ok(
			(await ageMs()) > MAX_LAG_MS + 4 * CHECK_INTERVAL_MS,
			"the last replayed commit is older than the bound",
		);
		t.equal((await ready()).body.checks.replica, "ok");
		t.equal(await metric("sherpany_db_replica_lag_seconds"), 0);
		t.equal(await metric("sherpany_db_replica_fallback"), 0);
	},
);

t.test(
	"replication paused beyond the lag bound: reads move to the primary, and return once resumed",
	async (t) => {
		const standbyUrl = standby.urlFor(url);
		await standby.query(standbyUrl, "select pg_wal_replay_pause()");
		await primary.query(
			url,
			"insert into users (name, email) values ('Paused', 'paused@example.com')",
		);
		const paused = Date.now();
		const body = await waitForReplica(/^lagging/, MAX_LAG_MS + 10_000);
		t.ok(
			Date.now() - paused >= MAX_LAG_MS - CHECK_INTERVAL_MS,
			"not before the bound",
		);
		t.match(body, {
			status: "ready",
			checks: {
				replica: /^lagging \d+\.\d s behind: reading from the primary$/,
			},
		});
		t.ok(
			(await metric("sherpany_db_replica_lag_seconds")) * 1000 > MAX_LAG_MS,
			"the lag gauge shows it",
		);
		t.equal(
			await metric('sherpany_db_replica_fallbacks_total{reason="lagging"}'),
			1,
		);
		t.ok(
			logs.some((line) =>
				line.msg.endsWith(
					`behind, beyond the ${MAX_LAG_MS} ms bound: reads go to the primary`,
				),
			),
		);
		const [onStandbyRow] = await standby.query(
			standbyUrl,
			"select count(*)::int as n from users where email = 'paused@example.com'",
		);
		t.equal(onStandbyRow?.n, 0, "the standby has not replayed the new row");
		const before = await replicaReads();
		t.ok(
			(await users()).emails.includes("paused@example.com"),
			"/users lists it: the primary served it",
		);
		t.equal(await replicaReads(), before, "no read ran on the standby");

		await standby.query(standbyUrl, "select pg_wal_replay_resume()");
		await waitForReplica(/^ok$/);
		const resumed = await replicaReads();
		t.ok((await users()).emails.includes("paused@example.com"));
		t.equal(await replicaReads(), resumed + 1, "reads are back on the standby");
	},
);

t.test(
	"bin/sherpany serve takes the read URL from its environment",
	async (t) => {
		const child = await startServe(t, {
			DATABASE_URL: url,
			DATABASE_READ_URL_FILE: await writeSecret(
				t,
				`postgres://127.0.0.1:${standby.port}`,
			),
			READ_CHECK_INTERVAL_MS: "200",
			SHUTDOWN_DELAY_MS: "0",
		});
		const deadline = Date.now() + 15_000;
		let body: ReadyBody | undefined;
		do {
			if (body) await sleep(100);
			body = (await (
				await checkedFetch(`${child.baseUrl}/ready`)
			).json()) as ReadyBody;
		} while (body.checks.replica !== "ok" && Date.now() < deadline);
		t.equal(body.checks.replica, "ok");
		t.equal((await checkedFetch(`${child.baseUrl}/users`)).status, 200);
		t.match(
			await (await checkedFetch(`${child.baseUrl}/metrics`)).text(),
			/^sherpany_db_reads_total\{target="replica"\} 1$/m,
		);
		t.match(
			child.lines.find((line) => line.includes('"msg":"listening"')),
			`"readReplica":"postgres://postgres@127.0.0.1:${standby.port}/${dbName} (sslmode=disable)"`,
		);
		child.child.kill("SIGTERM");
		t.equal(await child.exited, 0, "and shuts down cleanly");
	},
);

async function writeSecret(
	test: { testdir(): string },
	content: string,
): Promise<string> {
	const file = join(test.testdir(), "read-url");
	await mkdir(test.testdir(), { recursive: true });
	await writeFile(file, `${content}\n`);
	return file;
}

/** A TCP proxy to `port` that counts the connections made through it. */
async function countingProxy(
	test: { teardown(fn: () => Promise<void>): void },
	target: number,
): Promise<{ port: number; connections: () => number }> {
	let connections = 0;
	const sockets = new Set<Socket>();
	const server = createServer((client) => {
		connections += 1;
		const upstream = createConnection(target, "127.0.0.1");
		for (const socket of [client, upstream]) {
			sockets.add(socket);
			socket.on("error", () => {});
			socket.on("close", () => {
				client.destroy();
				upstream.destroy();
			});
		}
		client.pipe(upstream).pipe(client);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	test.teardown(async () => {
		for (const socket of sockets) socket.destroy();
		await new Promise((resolve) => server.close(resolve));
	});
	const address = server.address();
	return {
		port: typeof address === "object" && address ? address.port : 0,
		connections: () => connections,
	};
}

t.test(
	"migrate and seed never touch the standby, even when only the read URL is reachable",
	async (t) => {
		const proxy = await countingProxy(t, standby.port);
		const fresh = await primary.createDatabase();
		await standby.waitForReplay();
		const env = {
			DATABASE_URL: fresh,
			DATABASE_READ_URL: `postgres://postgres@127.0.0.1:${proxy.port}/${new URL(fresh).pathname.slice(1)}`,
			PG_CONNECT_TIMEOUT_MS: "1000",
		};
		// The proxy works: a client through it reaches the standby.
		const [through] = await standby.query(
			env.DATABASE_READ_URL,
			"select pg_is_in_recovery() as standby",
		);
		t.equal(through?.standby, true);
		const reached = proxy.connections();

		await primary.stop();
		try {
			for (const args of [["migrate"], ["migrate", "status"], ["seed"]]) {
				const result = await runCli(args, env);
				t.equal(result.code, 1, `${args.join(" ")} fails`);
				t.match(
					result.stderr,
					`sherpany: cannot reach the database at postgres://postgres@127.0.0.1:${primary.port}/`,
					"naming the primary",
				);
			}
		} finally {
			await primary.start();
		}
		const flag = await runCli(
			["migrate", "--database-read-url", env.DATABASE_READ_URL],
			{ DATABASE_URL: fresh },
		);
		t.equal(flag.code, 2, "migrate has no read-replica flag");

		t.equal((await runCli(["migrate"], env)).code, 0);
		const seeded = await runCli(["seed"], env);
		t.equal(seeded.code, 0);
		t.match(seeded.stdout, /3 inserted/);
		const [row] = await primary.query(
			fresh,
			"select count(*)::int as n from users",
		);
		t.equal(row?.n, 3, "the primary has the rows");
		t.equal(proxy.connections(), reached, "nothing connected to the read URL");
	},
);
