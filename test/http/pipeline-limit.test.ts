/**
 * A connection that pipelines more requests than MAX_PIPELINED_REQUESTS
 * without reading their responses is closed, and the requests past the
 * bound never reach the app: a few packets of pipelined requests cannot
 * make the process do thousands of requests' work. A client that pipelines
 * within the bound gets every answer.
 */
import { connect } from "node:net";
import t from "tap";
import { MAX_PIPELINED_REQUESTS } from "../../src/http/server-limits.ts";
import { startApp, type TestApp } from "../helpers/app.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { openConnection } from "../helpers/raw-http.ts";

const pg = await startPostgres(t, { everyServer: false });
const url = await createMigratedDatabase(pg);

/** Requests the app has answered (the request-duration histogram's count). */
async function answered(app: TestApp): Promise<number> {
	const text = await app.metrics.registry.metrics();
	let total = 0;
	for (const match of text.matchAll(
		/^http_request_duration_seconds_count\{[^}]*\} (\S+)$/gm,
	))
		total += Number(match[1]);
	return total;
}

const pipelined = (count: number): string =>
	"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n".repeat(count);

t.test(
	"a flood pipelined on one connection is cut off at the bound",
	async (t) => {
		const app = await startApp(t, url, {}, {}, {});
		const socket = connect(Number(new URL(app.baseUrl).port), "127.0.0.1");
		socket.on("error", () => {});
		socket.pause();
		t.teardown(() => socket.destroy());
		await new Promise((resolve) => socket.once("connect", resolve));
		const before = await answered(app);
		// Every 'request' event is a request and a response object made,
		// and, if left unanswered, an 'aborted' error when the socket closes.
		let emitted = 0;
		app.server.on("request", () => {
			emitted += 1;
		});
		const closed = new Promise((resolve) => socket.once("close", resolve));
		socket.write(pipelined(5000));
		socket.resume();
		socket.on("data", () => {});
		await closed;
		t.pass("the connection was closed");
		const handled = (await answered(app)) - before;
		t.ok(
			handled <= MAX_PIPELINED_REQUESTS,
			`${handled} of 5000 pipelined requests reached the app`,
		);
		t.ok(
			emitted <= MAX_PIPELINED_REQUESTS + 1,
			`${emitted} of 5000 pipelined requests were handed to the server's listeners`,
		);
	},
);

t.test("a client pipelining within the bound gets every answer", async (t) => {
	const app = await startApp(t, url, {}, {}, {});
	const connection = await openConnection(Number(new URL(app.baseUrl).port));
	t.teardown(() => connection.socket.destroy());
	connection.socket.write(pipelined(MAX_PIPELINED_REQUESTS));
	const responses = await connection.responses(MAX_PIPELINED_REQUESTS);
	t.equal(responses.length, MAX_PIPELINED_REQUESTS, "all answered");
	t.same([...new Set(responses.map((r) => r.status))], [404], "as 404s");
});
