/**
 * Slow and abusive clients against `serve`, and the headers every answer
 * carries. No database is needed (it points at a closed port), so the tests
 * exercise only the HTTP layer: a slowloris is cut off by the headers
 * timeout, oversized headers and URLs get a JSON 431, a thousand idle
 * sockets do not keep a normal client waiting, and a client reusing a
 * keep-alive socket during the shutdown delay is answered and then closed
 * cleanly, never reset.
 */
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import {
	CONNECTIONS_CHECKING_INTERVAL_MS,
	HEADERS_TIMEOUT_MS,
} from "../../src/http/server-limits.ts";
import { openConnection, type RawConnection } from "../helpers/raw-http.ts";
import { freePort, startServe } from "../helpers/serve.ts";

/** A database URL nothing answers on: serve starts, /users answers 503. */
const deadDatabase = async (): Promise<string> =>
	`postgres://sherpany:canary-s3cret@127.0.0.1:${await freePort()}/sherpany`;

const serve = await startServe(t, {
	DATABASE_URL: await deadDatabase(),
	// Generous: the last test's requests must fall inside the delay on a
	// loaded machine too.
	SHUTDOWN_DELAY_MS: "5000",
	PG_CONNECT_TIMEOUT_MS: "500",
});

/** Resolves once serve logs that its shutdown has begun (bounded: 30 s). */
async function waitForShutdown(): Promise<void> {
	for (let waited = 0; waited < 30_000; waited += 20) {
		if (serve.lines.some((line) => line.includes('"reason":"SIGTERM"'))) return;
		await sleep(20);
	}
	throw new Error("serve logged no shutdown in 30 s");
}

const request = (path: string, extra = ""): string =>
	`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

t.test(
	"every answer carries nosniff and no-store, and no banner",
	async (t) => {
		for (const path of ["/health", "/ready", "/users", "/metrics", "/nope"]) {
			const response = await fetch(`${serve.baseUrl}${path}`);
			t.equal(
				response.headers.get("x-content-type-options"),
				"nosniff",
				`${path} (${response.status}): nosniff`,
			);
			t.equal(
				response.headers.get("cache-control"),
				"no-store",
				`${path}: no-store`,
			);
			t.equal(response.headers.get("x-powered-by"), null, `${path}: no banner`);
			await response.arrayBuffer();
		}
		const raw = await openConnection(serve.port);
		raw.socket.write("FOO / HTTP/1.1\r\nHost: x\r\n\r\n");
		const [rejected] = await raw.responses(1);
		t.equal(rejected?.status, 501, "a parser rejection");
		t.match(rejected?.headers, {
			"x-content-type-options": "nosniff",
			"cache-control": "no-store",
		});
	},
);

t.test("a slowloris client is cut off by the headers timeout", async (t) => {
	const raw = await openConnection(serve.port);
	const began = Date.now();
	raw.socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
	let end: string | undefined;
	void raw.closed.then((how) => {
		end = how;
	});
	// One byte a second (the slowloris's own pace), for at most the timeout
	// plus two checking intervals and a generous slack: without the timeout,
	// the connection stays open however long this goes on.
	const limit =
		HEADERS_TIMEOUT_MS + 2 * CONNECTIONS_CHECKING_INTERVAL_MS + 15_000;
	while (end === undefined && Date.now() - began < limit) {
		if (!raw.socket.destroyed) raw.socket.write("a");
		await sleep(1000);
	}
	const elapsed = Date.now() - began;
	t.ok(end !== undefined, `the connection was closed after ${elapsed} ms`);
	t.ok(elapsed >= HEADERS_TIMEOUT_MS - 1000, "not before the timeout");
	t.match(
		raw.received(),
		/^(HTTP\/1\.1 408 [\s\S]*"request_timeout"[\s\S]*|)$/,
		"a 408, if anything",
	);
});

t.test("oversized headers and URLs get a JSON 431", async (t) => {
	const cases = {
		"a 20 kB header": request("/health", `X-Big: ${"a".repeat(20_000)}\r\n`),
		"a 20 kB URL": request(`/users?name=${"a".repeat(20_000)}`),
	};
	for (const [name, bytes] of Object.entries(cases)) {
		const raw = await openConnection(serve.port);
		raw.socket.write(bytes);
		const [response] = await raw.responses(1);
		t.equal(response?.status, 431, `${name}: 431`);
		t.match(
			JSON.parse(response?.body ?? "{}"),
			{ error: { code: "request_header_fields_too_large" } },
			`${name}: a JSON error`,
		);
		raw.socket.destroy();
	}
});

t.test(
	"1,000 idle connections do not keep a normal client waiting",
	async (t) => {
		const idle: RawConnection[] = [];
		for (let batch = 0; batch < 10; batch += 1)
			idle.push(
				...(await Promise.all(
					Array.from({ length: 100 }, () => openConnection(serve.port)),
				)),
			);
		const began = Date.now();
		const response = await fetch(`${serve.baseUrl}/health`, {
			signal: AbortSignal.timeout(60_000),
		});
		t.equal(response.status, 200, "served");
		// Kept waiting, it would be served once the idle sockets are cut, at
		// the headers timeout: the bound is generous and still below that.
		t.ok(
			Date.now() - began < HEADERS_TIMEOUT_MS - 2000,
			`within ${Date.now() - began} ms, before the idle sockets time out`,
		);
		for (const connection of idle) connection.socket.destroy();
	},
);

t.test(
	"a keep-alive socket reused during the shutdown delay: answered with Connection: close, then closed cleanly",
	async (t) => {
		const raw = await openConnection(serve.port);
		raw.socket.write(request("/health"));
		const [first] = await raw.responses(1);
		t.equal(
			first?.headers.connection,
			"keep-alive",
			"kept alive before shutdown",
		);
		const exited = serve.exited;
		serve.child.kill("SIGTERM");
		// Inside the delay, the same socket carries another request.
		await waitForShutdown();
		raw.socket.write(request("/health"));
		const [, second] = await raw.responses(2);
		t.equal(second?.status, 200, "answered during the delay");
		t.equal(second?.headers.connection, "close", "with Connection: close");
		t.equal(
			await raw.closed,
			"end",
			"then closed cleanly by the server, no reset",
		);
		// A fresh connection during the delay is still served, and told to close.
		const late = await fetch(`${serve.baseUrl}/ready`);
		t.equal(late.status, 503, "readiness fails during the delay");
		t.equal(late.headers.get("connection"), "close");
		await late.arrayBuffer();
		t.equal(await exited, 0, "SIGTERM exits 0");
		t.notMatch(
			serve.lines.join("\n") + serve.stderr(),
			/canary-s3cret/,
			"the password appears nowhere",
		);
	},
);
