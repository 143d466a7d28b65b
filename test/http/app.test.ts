import { Client } from "pg";
import t from "tap";
import { insertSampleUsers, insertSyntheticUsers } from "../../src/db/users.ts";
import { startApp } from "../helpers/app.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);

/** A migrated database with the sample users and `extra` synthetic ones. */
function seededDatabase(extra = 0): Promise<string> {
	return createMigratedDatabase(pg, async (db) => {
		await insertSampleUsers(db);
		if (extra > 0) await insertSyntheticUsers(db, "test", 1, extra);
	});
}

t.test("GET /users returns the original shape, ordered by id", async (t) => {
	const app = await startApp(t, await seededDatabase());
	const response = await app.get("/users");
	t.equal(response.status, 200);
	t.match(response.headers.get("content-type"), /^application\/json/);
	t.same(await response.json(), [
		{ id: 1, name: "John Doe", email: "john@example.com" },
		{ id: 2, name: "Jane Smith", email: "jane@example.com" },
		{ id: 3, name: "Bob Wilson", email: "bob@example.com" },
	]);
	t.equal(response.headers.get("link"), null, "no next page");
});

t.test(
	"keyset pagination visits every user once, following Link",
	async (t) => {
		const app = await startApp(t, await seededDatabase(247));
		const seen: number[] = [];
		let next: string | undefined = "/users?limit=50";
		let pages = 0;
		while (next) {
			const response = await app.get(next);
			t.equal(response.status, 200);
			const users = (await response.json()) as { id: number }[];
			seen.push(...users.map((user) => user.id));
			pages += 1;
			const link = response.headers.get("link");
			next = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
		}
		t.equal(pages, 5);
		t.equal(seen.length, 250);
		t.same(
			seen,
			[...seen].sort((a, b) => a - b),
			"ordered by id",
		);
		t.equal(new Set(seen).size, 250, "no user repeated");
	},
);

t.test("limit defaults to 100 and a full last page still ends", async (t) => {
	const app = await startApp(t, await seededDatabase(197));
	const first = await app.get("/users");
	t.equal(((await first.json()) as unknown[]).length, 100);
	t.equal(
		first.headers.get("link"),
		'</users?limit=100&after=100>; rel="next"',
	);
	const second = await app.get("/users?after=100");
	t.equal(((await second.json()) as unknown[]).length, 100);
	t.equal(second.headers.get("link"), null, "exactly 200 users: no third page");
});

t.test("bad parameters are 400s naming the parameter", async (t) => {
	const app = await startApp(t, await seededDatabase());
	for (const query of [
		"limit=0",
		"limit=1001",
		"limit=abc",
		"limit=-1",
		"limit=1.5",
		"limit=",
		"limit=1&limit=2",
		"after=x",
		"after=2147483648",
		"after=99999999999999999999",
	]) {
		const response = await app.get(`/users?${query}`);
		t.equal(response.status, 400, query);
		const body = (await response.json()) as {
			error: { code: string; message: string };
		};
		t.equal(body.error.code, "invalid_parameter", query);
		t.match(
			body.error.message,
			query.startsWith("limit") ? /^limit / : /^after /,
			query,
		);
	}
});

t.test("NDJSON streams every user, one object per line", async (t) => {
	const app = await startApp(t, await seededDatabase(2500));
	const response = await app.get("/users", {
		headers: { Accept: "application/x-ndjson" },
	});
	t.equal(response.status, 200);
	t.match(response.headers.get("content-type"), /^application\/x-ndjson/);
	const lines = (await response.text()).trimEnd().split("\n");
	t.equal(lines.length, 2503, "every user, beyond one batch");
	const users = lines.map(
		(line) => JSON.parse(line) as { id: number; name: string; email: string },
	);
	t.same(users[0], { id: 1, name: "John Doe", email: "john@example.com" });
	t.same(
		users.map((user) => user.id),
		Array.from({ length: 2503 }, (_, i) => i + 1),
	);
});

t.test(
	"/health is exactly the original body and never touches the database",
	async (t) => {
		const app = await startApp(t, await seededDatabase());
		await app.database.close();
		const response = await app.get("/health");
		t.equal(response.status, 200);
		t.equal(await response.text(), '{"status":"healthy"}');
	},
);

t.test("/ready reports each check", async (t) => {
	const migrated = await startApp(t, await seededDatabase());
	let response = await migrated.get("/ready");
	t.equal(response.status, 200);
	t.same(await response.json(), {
		status: "ready",
		checks: { database: "ok", schema: "ok" },
	});

	const empty = await startApp(t, await pg.createDatabase());
	response = await empty.get("/ready");
	t.equal(response.status, 503, "schema behind");
	t.match(await response.json(), {
		status: "not ready",
		checks: {
			database: "ok",
			schema: /pending migrations: 0001_create_users; run sherpany migrate/,
		},
	});

	migrated.shuttingDown = true;
	response = await migrated.get("/ready");
	t.equal(response.status, 503, "shutting down");
	t.same(await response.json(), {
		status: "not ready",
		checks: { shutdown: "shutting down" },
	});
});

t.test("errors are JSON: 404, 405 with Allow, 501", async (t) => {
	const app = await startApp(t, await seededDatabase());
	let response = await app.get("/nope");
	t.equal(response.status, 404);
	t.same(await response.json(), {
		error: { code: "not_found", message: "no route for GET /nope" },
	});

	response = await app.get("/users", { method: "POST" });
	t.equal(response.status, 405);
	t.match(response.headers.get("allow"), /GET/);
	t.same(await response.json(), {
		error: { code: "method_not_allowed", message: "method not allowed" },
	});

	response = await app.get("/health", { method: "DELETE" });
	t.equal(response.status, 405);
});

t.test("HEAD works wherever GET does", async (t) => {
	const app = await startApp(t, await seededDatabase());
	for (const path of ["/users", "/health", "/ready", "/metrics"]) {
		const response = await app.get(path, { method: "HEAD" });
		t.equal(response.status, 200, path);
		t.equal(await response.text(), "", `${path} has no body`);
	}
});

t.test("X-Request-Id is echoed when safe, generated otherwise", async (t) => {
	const app = await startApp(t, await seededDatabase());
	let response = await app.get("/health", {
		headers: { "X-Request-Id": "abc-123" },
	});
	t.equal(response.headers.get("x-request-id"), "abc-123");
	response = await app.get("/nope");
	t.match(response.headers.get("x-request-id"), /^[0-9a-f-]{36}$/);
	response = await app.get("/health", {
		headers: { "X-Request-Id": "bad id with spaces" },
	});
	t.not(response.headers.get("x-request-id"), "bad id with spaces");
});

t.test(
	"/metrics exposes the service's metrics in Prometheus text",
	async (t) => {
		const app = await startApp(t, await seededDatabase());
		await app.get("/users");
		await app.get("/no/such/path");
		await app.get("/another/unknown");
		for (const method of ["PROPFIND", "MKCALENDAR", "SEARCH"])
			await app.get("/users", { method });
		const response = await app.get("/metrics");
		t.equal(response.status, 200);
		t.match(response.headers.get("content-type"), /^text\/plain/);
		const text = await response.text();
		t.match(
			text,
			/http_request_duration_seconds_count\{method="GET",route="\/users",status_code="200"\} 1/,
		);
		t.match(
			text,
			/http_request_duration_seconds_count\{method="GET",route="\(unmatched\)",status_code="404"\} 2/,
		);
		t.match(
			text,
			/http_request_duration_seconds_count\{method="_OTHER",route="\(unmatched\)",status_code="\d+"\} 3/,
			"methods no route knows share one label, as unknown paths do",
		);
		t.notMatch(text, /method="(PROPFIND|MKCALENDAR|SEARCH)"/);
		t.match(
			text,
			/^http_requests_in_flight 1$/m,
			"the scrape itself is in flight",
		);
		t.match(
			text,
			/sherpany_db_pool_connections\{state="total",target="primary"\} \d/,
		);
		t.match(
			text,
			/sherpany_db_pool_connections\{state="idle",target="primary"\} \d/,
		);
		t.match(
			text,
			/sherpany_db_pool_connections\{state="waiting",target="primary"\} 0/,
		);
		t.match(
			text,
			/sherpany_db_query_duration_seconds_count\{outcome="success",target="primary"\} [1-9]/,
		);
		t.match(
			text,
			/sherpany_build_info\{version="\d+\.\d+\.\d+",runtime="node [\d.]+"\} 1/,
		);
		t.match(text, /process_cpu_user_seconds_total/);
		t.match(text, /^sherpany_readiness_check\{check="database"\} 1$/m);
		t.match(text, /^sherpany_readiness_check\{check="schema"\} 1$/m);
	},
);

t.test("the API port can leave /metrics to the admin port", async (t) => {
	const url = await seededDatabase();
	const api = await startApp(t, url, { routes: "api" });
	const admin = await startApp(t, url, { routes: "admin" });
	t.equal((await api.get("/metrics")).status, 404);
	t.equal((await api.get("/users")).status, 200);
	t.equal((await admin.get("/metrics")).status, 200);
	t.equal((await admin.get("/health")).status, 200);
	t.equal((await admin.get("/ready")).status, 200);
	t.equal((await admin.get("/users")).status, 404);
});

t.test(
	"a database outage gives 503 with Retry-After, and recovery needs no restart",
	async (t) => {
		const cluster = await startPostgres(t);
		const url = await createMigratedDatabase(cluster, insertSampleUsers);
		const app = await startApp(t, url);
		t.equal((await app.get("/users")).status, 200);

		await cluster.stop();
		let response = await app.get("/users");
		t.equal(response.status, 503);
		t.equal(response.headers.get("retry-after"), "5");
		t.same(await response.json(), {
			error: {
				code: "database_unavailable",
				message: "the database is unavailable, retry later",
			},
		});
		response = await app.get("/users", {
			headers: { Accept: "application/x-ndjson" },
		});
		t.equal(response.status, 503, "NDJSON too, before any line is sent");
		response = await app.get("/ready");
		t.equal(response.status, 503);
		t.match(await response.json(), { checks: { database: /unreachable/ } });
		t.equal((await app.get("/health")).status, 200, "liveness unaffected");
		const scrape = await (await app.get("/metrics")).text();
		t.match(scrape, /^sherpany_readiness_check\{check="database"\} 0$/m);
		t.match(
			scrape,
			/^sherpany_readiness_check\{check="schema"\} 0$/m,
			"a schema that cannot be checked is not ready",
		);

		await cluster.start();
		response = await app.get("/users");
		t.equal(response.status, 200, "recovered by itself");
		t.equal(((await response.json()) as unknown[]).length, 3);
		t.equal((await app.get("/ready")).status, 200);
		const pool = app.database.pool;
		t.ok(pool, "a PostgreSQL pool");
		t.equal(pool?.waitingCount, 0, "nobody waits for a connection");
		t.equal(
			pool?.idleCount,
			pool?.totalCount,
			"every connection went back to the pool",
		);
	},
);

t.test("malformed input never yields a 500", async (t) => {
	const app = await startApp(t, await seededDatabase());
	const paths = [
		"/users?limit=%",
		"/users?after=%ZZ",
		"/users%",
		"/%E0%A4%A",
		"/users?limit[]=1",
		"/users?after=1e3",
		`/users?${"a=1&".repeat(2000)}`,
		"//users",
		"/users/..%2f..%2fetc",
	];
	for (const path of paths) {
		const response = await app.get(path);
		t.ok(
			response.status >= 200 && response.status < 500,
			`${path.slice(0, 40)} -> ${response.status}`,
		);
		if (response.status >= 400)
			t.match(
				await response.json(),
				{ error: { code: String } },
				"JSON error body",
			);
	}
});

t.test(
	"/users on a database that is not migrated yet is a 503, not a 500",
	async (t) => {
		const app = await startApp(t, await pg.createDatabase());
		const response = await app.get("/users");
		t.equal(response.status, 503);
		t.equal(response.headers.get("retry-after"), "5");
		t.same(await response.json(), {
			error: {
				code: "schema_not_ready",
				message: "the database schema is not ready, retry later",
			},
		});
	},
);

t.test("a query the database does not answer in time is a 503", async (t) => {
	const url = await seededDatabase();
	const app = await startApp(t, url, {}, { queryTimeoutMs: 300 });
	// Another session holds the table, so the SELECT waits like on a hung server.
	const locker = new Client({ connectionString: url });
	await locker.connect();
	t.teardown(() => locker.end());
	await locker.query("begin; lock table users in access exclusive mode");
	const started = Date.now();
	const response = await app.get("/users");
	t.equal(response.status, 503);
	t.match(await response.json(), { error: { code: "database_unavailable" } });
	// The lock is held throughout: only the 300 ms timeout answers at all.
	// The bound is a hundred times that, for a loaded machine.
	t.ok(Date.now() - started < 30_000, "answered by the query timeout");
	await locker.query("rollback");
	t.equal((await app.get("/users")).status, 200, "fine again once released");
});
