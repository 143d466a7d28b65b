import { createServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { type Logger, pino } from "pino";
import t, { type Test } from "tap";
import { answerParserErrors } from "../../src/http/parser-errors.ts";

/** A real http.Server that answers 200 to anything Koa would see. */
async function startServer(
	t: Test,
	logger: Logger = pino({ level: "silent" }),
): Promise<number> {
	const server = createServer((_request, response) => response.end("ok"));
	answerParserErrors(server, logger);
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	t.teardown(
		() => new Promise<void>((resolve) => server.close(() => resolve())),
	);
	return (server.address() as AddressInfo).port;
}

/** Writes raw bytes and collects everything the server sends until it closes. */
function exchange(port: number, raw: string): Promise<string> {
	return new Promise((resolve, reject) => {
		const socket = connect(port, "127.0.0.1");
		let received = "";
		socket.setEncoding("utf8");
		socket.on("data", (chunk) => {
			received += chunk;
		});
		socket.on("error", reject);
		socket.on("close", () => resolve(received));
		socket.write(raw);
	});
}

function parse(response: string) {
	const [head = "", body = ""] = response.split("\r\n\r\n");
	const [statusLine = "", ...headerLines] = head.split("\r\n");
	const headers = Object.fromEntries(
		headerLines.map((line) => {
			const at = line.indexOf(":");
			return [line.slice(0, at).toLowerCase(), line.slice(at + 1).trim()];
		}),
	);
	return { statusLine, headers, body: JSON.parse(body) as unknown };
}

t.test("requests the HTTP parser rejects get a JSON error", async (t) => {
	const { logger, lines } = capturedLogger();
	const port = await startServer(t, logger);
	const cases: [string, string, string, string, string][] = [
		[
			"an unknown method",
			"FOO /users HTTP/1.1\r\nHost: x\r\n\r\n",
			"HTTP/1.1 501 Not Implemented",
			"not_implemented",
			"method not implemented",
		],
		[
			"a header line without a colon",
			"GET /users HTTP/1.1\r\nHost x\r\n\r\n",
			"HTTP/1.1 400 Bad Request",
			"bad_request",
			"malformed HTTP request",
		],
		[
			"headers over Node's 16 KiB limit",
			`GET /users HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
			"HTTP/1.1 431 Request Header Fields Too Large",
			"request_header_fields_too_large",
			"request headers too large",
		],
	];
	for (const [what, raw, statusLine, code, message] of cases) {
		const response = parse(await exchange(port, raw));
		t.equal(response.statusLine, statusLine, what);
		t.equal(
			response.headers["content-type"],
			"application/json; charset=utf-8",
			`${what}: JSON`,
		);
		t.equal(response.headers.connection, "close", `${what}: closes`);
		t.match(
			response.headers["x-request-id"],
			/^[0-9a-f-]{36}$/,
			`${what}: a request id`,
		);
		t.match(
			response.body,
			{ error: { code, message } },
			`${what}: the error body`,
		);
	}
	t.match(
		lines,
		[
			"HPE_INVALID_METHOD",
			"HPE_INVALID_HEADER_TOKEN",
			"HPE_HEADER_OVERFLOW",
		].map((code) => ({
			level: 20,
			code,
			msg: "the HTTP parser rejected a request",
		})),
		"each is logged at debug with its parser code",
	);
	// The server is unharmed, and well-formed requests still reach the handler.
	t.match(
		await exchange(
			port,
			"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		),
		/^HTTP\/1\.1 200 OK/,
	);
});

t.test(
	"a request whose headers never finish gets a JSON 408 at the server's request timeout",
	async (t) => {
		const server = createServer({
			requestTimeout: 500,
			headersTimeout: 500,
			// How often Node looks for timed-out requests (30 s by default).
			connectionsCheckingInterval: 50,
		});
		answerParserErrors(server, pino({ level: "silent" }));
		await new Promise<void>((resolve) =>
			server.listen(0, "127.0.0.1", resolve),
		);
		t.teardown(
			() => new Promise<void>((resolve) => server.close(() => resolve())),
		);
		const port = (server.address() as AddressInfo).port;
		const response = parse(
			await exchange(port, "GET /users HTTP/1.1\r\nHost: x\r\n"),
		);
		t.equal(response.statusLine, "HTTP/1.1 408 Request Timeout");
		t.equal(response.headers.connection, "close");
		t.same(response.body, {
			error: { code: "request_timeout", message: "request timed out" },
		});
	},
);

/** Lines `logger` writes, parsed, at debug level. */
function capturedLogger() {
	const lines: Record<string, unknown>[] = [];
	const logger = pino(
		{ level: "debug" },
		{ write: (line: string) => void lines.push(JSON.parse(line)) },
	);
	return { logger, lines };
}

t.test(
	"a connection reset mid-request is closed without an answer or a log line",
	async (t) => {
		const { logger, lines } = capturedLogger();
		const server = createServer((_request, response) => response.end("ok"));
		answerParserErrors(server, logger);
		const seen = new Promise<string | undefined>((resolve) =>
			server.on("clientError", (error: NodeJS.ErrnoException) =>
				resolve(error.code),
			),
		);
		await new Promise<void>((resolve) =>
			server.listen(0, "127.0.0.1", resolve),
		);
		t.teardown(
			() => new Promise<void>((resolve) => server.close(() => resolve())),
		);
		const port = (server.address() as AddressInfo).port;
		const socket = connect(port, "127.0.0.1");
		socket.on("error", () => {});
		// Half a request, then a reset once the server has read it.
		socket.write("GET /users HTTP/1.1\r\nHost: x\r\n");
		server.once("connection", (serverSide) =>
			serverSide.once("data", () => socket.resetAndDestroy()),
		);
		t.equal(await seen, "ECONNRESET");
		t.same(lines, [], "nothing logged");
		t.match(
			await exchange(
				port,
				"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			),
			/^HTTP\/1\.1 200 OK/,
			"the server still answers",
		);
	},
);

t.test(
	"a malformed request behind one still being answered closes the connection, without a second status line",
	async (t) => {
		let rejected: () => void = () => {};
		const clientError = new Promise<void>((resolve) => {
			rejected = resolve;
		});
		const server = createServer(async (_request, response) => {
			// Answer the first request only after the second was rejected.
			await clientError;
			response.end("ok");
		});
		answerParserErrors(server, pino({ level: "silent" }));
		server.on("clientError", () => rejected());
		await new Promise<void>((resolve) =>
			server.listen(0, "127.0.0.1", resolve),
		);
		t.teardown(
			() => new Promise<void>((resolve) => server.close(() => resolve())),
		);
		const port = (server.address() as AddressInfo).port;
		const received = await exchange(
			port,
			"GET / HTTP/1.1\r\nHost: x\r\n\r\nFOO / HTTP/1.1\r\nHost: x\r\n\r\n",
		);
		t.equal(received, "", "the connection closes with nothing written");
	},
);
