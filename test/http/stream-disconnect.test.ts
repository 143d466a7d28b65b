/**
 * A client that hangs up mid-way through an NDJSON export: the hang-up is
 * logged at debug, not error, and the export stops reading the database.
 */
import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { insertSyntheticUsers, STREAM_BATCH_SIZE } from "../../src/db/users.ts";
import { createLogger } from "../../src/logger.ts";
import { startApp, type TestApp } from "../helpers/app.ts";
import { logLines } from "../helpers/log-lines.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait-for.ts";

/** Far more users than fit in the socket buffers: the export is still being read when the client leaves. */
const USERS = 200_000;

const pg = await startPostgres(t);
const url = await createMigratedDatabase(pg, (db) =>
	insertSyntheticUsers(db, "disconnect", 1, USERS),
);

async function inFlight(app: {
	metrics: { registry: { metrics(): Promise<string> } };
}): Promise<string | undefined> {
	const text = await app.metrics.registry.metrics();
	return /^http_requests_in_flight (\S+)$/m.exec(text)?.[1];
}

/** Starts an export, reads 64 KiB of it, hangs up; resolves with the bytes read. */
function hangUpMidExport(app: TestApp, requestId: string): Promise<number> {
	return new Promise<number>((resolve, reject) => {
		const req = request(`${app.baseUrl}/users`, {
			headers: { Accept: "application/x-ndjson", "X-Request-Id": requestId },
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
}

t.test(
	"a client hanging up mid-NDJSON-stream is logged at debug, not error",
	async (t) => {
		const { destination, lines } = logLines();
		const app = await startApp(t, url, {
			logger: createLogger("debug", destination),
		});
		const requestId = "disconnect-test";
		t.ok(
			(await hangUpMidExport(app, requestId)) >= 64 * 1024,
			"read part of the stream",
		);

		const gone = () =>
			lines.filter(
				(line) =>
					line.msg === "client closed the connection before the response ended",
			);
		// The server notices, logs, and finishes its bookkeeping.
		await waitFor(
			"the request line, the hang-up line and the in-flight gauge at 0",
			async () =>
				lines.some((line) => line.msg === "request") &&
				gone().length > 0 &&
				(await inFlight(app)) === "0",
		);

		const errors = lines.filter((line) =>
			["error", "fatal"].includes(String(line.level)),
		);
		t.same(errors, [], "nothing logged at error level or above");
		const [line, ...more] = gone();
		t.equal(more.length, 0, "one debug line for the hang-up");
		t.match(line, { level: "debug", requestId });
		t.match(line?.code, /^(EPIPE|ECONNRESET|ERR_STREAM_PREMATURE_CLOSE)$/);
		t.notOk(line && "err" in line, "no error object, so no stack");
		t.match(
			lines.find((line) => line.msg === "request"),
			{ requestId, status: 499 },
			"the request line records the client hang-up",
		);
	},
);

t.test("database reads stop once the client hangs up", async (t) => {
	let queries = 0;
	const app = await startApp(
		t,
		url,
		{},
		{
			onQuery: () => {
				queries += 1;
			},
		},
	);
	await hangUpMidExport(app, "reads-stop");
	// The export gives its slot back when its stream closes.
	await waitFor(
		"the export's end",
		() => app.metrics.exportsRunning.count === 0,
	);
	// A read already under way when the client hung up may still settle
	// (its query is counted when it completes): wait for the pool to hold
	// no busy connection, then count.
	const pool = app.database.pool;
	await waitFor(
		"no query in progress",
		() => pool !== undefined && pool.totalCount === pool.idleCount,
	);
	const atEnd = queries;
	const batches = Math.ceil(USERS / STREAM_BATCH_SIZE);
	t.ok(
		atEnd < batches / 2,
		`${atEnd} of the ${batches} batches were read before the export ended`,
	);
	// What is checked is that nothing more happens, so there is no state to
	// wait for: an export that read on would send its next query within
	// milliseconds of the last, so a second without one shows it stopped.
	const watchUntil = Date.now() + 1000;
	while (Date.now() < watchUntil && queries === atEnd) await sleep(20);
	t.equal(queries, atEnd, "no query after the export ended");
});
