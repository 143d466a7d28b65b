import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import t from "tap";
import { insertSyntheticUsers } from "../../src/db/users.ts";
import { startApp } from "../helpers/app.ts";
import { logLines } from "../helpers/log-lines.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);

/** A migrated database with `count` synthetic users: far more than fit in the socket buffers. */
function seededDatabase(count: number): Promise<string> {
	return createMigratedDatabase(pg, (db) =>
		insertSyntheticUsers(db, "disconnect", 1, count),
	);
}

async function inFlight(app: {
	metrics: { registry: { metrics(): Promise<string> } };
}): Promise<string | undefined> {
	const text = await app.metrics.registry.metrics();
	return /^http_requests_in_flight (\S+)$/m.exec(text)?.[1];
}

t.test(
	"a client hanging up mid-NDJSON-stream is logged at debug, not error",
	async (t) => {
		const { destination, lines } = logLines();
		const app = await startApp(t, await seededDatabase(200_000), {
			logger: pino({ level: "debug" }, destination),
		});
		const requestId = "disconnect-test";
		const received = await new Promise<number>((resolve, reject) => {
			const req = request(`${app.baseUrl}/users`, {
				headers: {
					Accept: "application/x-ndjson",
					"X-Request-Id": requestId,
				},
			});
			// After the hang-up, which settles the promise first, this is a no-op.
			req.on("error", reject);
			req.on("response", (res) => {
				let bytes = 0;
				res.on("error", () => {});
				res.on("data", (chunk: Buffer) => {
					bytes += chunk.length;
					// Read a little, then hang up while the server is still writing.
					if (bytes >= 64 * 1024 && !req.destroyed) {
						req.destroy();
						resolve(bytes);
					}
				});
				res.on("end", () =>
					reject(new Error("the whole stream arrived before the hang-up")),
				);
			});
			req.end();
		});
		t.ok(received >= 64 * 1024, "read part of the stream");

		// Wait for the server to notice and finish its bookkeeping.
		const deadline = Date.now() + 5000;
		while (
			Date.now() < deadline &&
			!lines.some((line) => line.msg === "request")
		) {
			await sleep(20);
		}
		await sleep(200);

		const errors = lines.filter((line) => Number(line.level) >= 50);
		t.same(errors, [], "nothing logged at error level or above");
		const gone = lines.filter(
			(line) =>
				line.msg === "client closed the connection before the response ended",
		);
		t.equal(gone.length, 1, "one debug line for the hang-up");
		t.match(gone[0], { level: 20, requestId });
		t.match(gone[0]?.code, /^(EPIPE|ECONNRESET|ERR_STREAM_PREMATURE_CLOSE)$/);
		t.notOk(gone[0] && "err" in gone[0], "no error object, so no stack");
		t.match(
			lines.find((line) => line.msg === "request"),
			{ requestId, status: 499 },
			"the request line records the client hang-up",
		);
		t.equal(await inFlight(app), "0", "the in-flight gauge returns to 0");
	},
);
