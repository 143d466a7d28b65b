/**
 * Checks shared by the binary suites: the HTTP endpoints and check-health
 * against a running binary, its shutdown, and the users it lists.
 */
import type { Test } from "tap";
import { OPENAPI_DOCUMENT } from "../../src/http/openapi-document.ts";
import type { BinaryServe, Sandbox } from "./binary.ts";
import { checkedFetch } from "./checked-fetch.ts";

/** The three users `seed` inserts, as `/users` lists them on a new database. */
export const SAMPLE_USERS = [
	{ id: 1, name: "John Doe", email: "john@example.com" },
	{ id: 2, name: "Jane Smith", email: "jane@example.com" },
	{ id: 3, name: "Bob Wilson", email: "bob@example.com" },
];

/** /users (JSON and NDJSON), /health, /ready, /metrics, /openapi.json and check-health against a running server. */
export async function checkHttp(
	t: Test,
	box: Sandbox,
	server: BinaryServe,
	expectedUsers: readonly Record<string, unknown>[],
): Promise<void> {
	const users = await checkedFetch(`${server.baseUrl}/users`);
	t.equal(users.status, 200, "/users 200");
	t.match(users.headers.get("content-type"), /^application\/json/);
	const body = (await users.json()) as unknown[];
	t.equal(body.length, expectedUsers.length, "/users: how many");
	t.match(body, expectedUsers, "/users lists the users by id");
	checkOrdered(t, body);

	const health = await checkedFetch(`${server.baseUrl}/health`);
	t.equal(health.status, 200, "/health 200");
	t.equal(await health.text(), '{"status":"healthy"}', "/health body");

	const ready = await checkedFetch(`${server.baseUrl}/ready`);
	t.equal(ready.status, 200, "/ready 200");
	t.same(
		await ready.json(),
		{ status: "ready", checks: { database: "ok", schema: "ok" } },
		"/ready body",
	);

	const metrics = await checkedFetch(`${server.baseUrl}/metrics`);
	t.equal(metrics.status, 200, "/metrics 200");
	t.match(metrics.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
	const text = await metrics.text();
	t.match(
		text,
		/^sherpany_build_info\{version="\d+\.\d+\.\d+",runtime="node 24\.\d+\.\d+"\} 1$/m,
		"build info",
	);
	t.match(
		text,
		/^http_request_duration_seconds_count\{method="GET",route="\/users",status_code="200"\} 1$/m,
		"request histogram",
	);
	t.match(text, /^process_resident_memory_bytes \d+/m, "default metrics");

	// After /metrics, whose histogram counted the one request above.
	const ndjson = await checkedFetch(`${server.baseUrl}/users`, {
		headers: { Accept: "application/x-ndjson" },
	});
	t.equal(ndjson.status, 200, "NDJSON export 200");
	t.match(ndjson.headers.get("content-type"), /^application\/x-ndjson/);
	t.same(
		(await ndjson.text())
			.split("\n")
			.filter((line) => line !== "")
			.map((line) => JSON.parse(line)),
		body,
		"the NDJSON export gives every row, one per line",
	);

	const description = await checkedFetch(`${server.baseUrl}/openapi.json`);
	t.same(
		await description.json(),
		OPENAPI_DOCUMENT,
		"/openapi.json: the document, bundled into the binary",
	);

	const live = await box.run(["check-health"], { PORT: String(server.port) });
	t.same(
		live,
		{
			code: 0,
			signal: null,
			stdout: `healthy: http://127.0.0.1:${server.port}/health answered 200\n`,
			stderr: "",
		},
		"check-health exits 0",
	);
	const readyProbe = await box.run(["check-health", "--ready"], {
		PORT: String(server.port),
	});
	t.same(
		readyProbe,
		{
			code: 0,
			signal: null,
			stdout: `healthy: http://127.0.0.1:${server.port}/ready answered 200\n`,
			stderr: "",
		},
		"check-health --ready exits 0",
	);
}

/** SIGTERM: exit 0, "shutdown complete" logged, then check-health exits 1. */
export async function stopAndCheck(
	t: Test,
	box: Sandbox,
	server: BinaryServe,
): Promise<void> {
	server.child.kill("SIGTERM");
	t.equal(await server.exited, 0, "SIGTERM exits 0");
	t.ok(
		server.logs().some((entry) => entry.msg === "shutdown complete"),
		"shutdown complete logged",
	);
	t.equal(server.stderr(), "", "serve printed nothing on stderr");
	const down = await box.run(["check-health"], { PORT: String(server.port) });
	t.same(
		down,
		{
			code: 1,
			signal: null,
			stdout: "",
			stderr: `sherpany: unhealthy: http://127.0.0.1:${server.port}/health unreachable (ECONNREFUSED)\n`,
		},
		"check-health exits 1 once the server is gone",
	);
}

/**
 * The sample users, then `User 1`… from `seed --count`. Their ids are only
 * increasing: an `on conflict do nothing` insert (seed run again) uses up
 * sequence values, as PostgreSQL does.
 */
export function userList(count: number): Record<string, unknown>[] {
	return [
		...SAMPLE_USERS,
		...Array.from({ length: count - SAMPLE_USERS.length }, (_, i) => ({
			id: Number,
			name: `User ${i + 1}`,
			email: /^user-[0-9a-f]+-\d+@example\.com$/,
		})),
	];
}

/** Asserts that the ids of a `/users` body increase. */
function checkOrdered(t: Test, body: unknown[]): void {
	const ids = body.map((user) => (user as { id: number }).id);
	t.ok(
		ids.every((id, i) => i === 0 || id > (ids[i - 1] as number)),
		`ids increase: ${ids.join(",")}`,
	);
}

/** Asserts that `/users` lists `count` users: the sample ones, then synthetic ones. */
export async function checkUsers(
	t: Test,
	server: BinaryServe,
	count: number,
	message: string,
): Promise<void> {
	const body = (await (
		await checkedFetch(`${server.baseUrl}/users`)
	).json()) as unknown[];
	t.equal(body.length, count, `${message}: ${count} users`);
	t.match(body, userList(count), message);
	checkOrdered(t, body);
}

/** True when `migrate status` printed the one migration as applied. */
export function appliedStatus(stdout: string): boolean {
	return /^0001_create_users {2}applied \d{4}-\d\d-\d\dT[\d:.]+Z\n1 applied, 0 pending\n$/.test(
		stdout,
	);
}
