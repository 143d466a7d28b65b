import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import Koa from "koa";
import { Registry } from "prom-client";
import t from "tap";
import { observeRequests } from "../../src/http/observe.ts";
import { createLogger } from "../../src/logger.ts";
import { createMetrics } from "../../src/metrics.ts";

/** A logger at `info` with the service's redaction, whose lines land in `lines`. */
function capturedLogger() {
	const lines: Record<string, unknown>[] = [];
	const destination = new Writable({
		write(chunk, _encoding, done) {
			for (const line of String(chunk).split("\n"))
				if (line) lines.push(JSON.parse(line));
			done();
		},
	});
	return { logger: createLogger("info", destination), lines };
}

t.test(
	"the request line is logged at info; the service's other lines stay redacted",
	async (t) => {
		const { logger, lines } = capturedLogger();
		const app = new Koa();
		app.use(observeRequests(logger, createMetrics(new Registry())));
		app.use((ctx) => {
			ctx.body = { ok: true };
		});
		const server = app.listen(0, "127.0.0.1");
		t.teardown(() => void server.close());
		await new Promise((resolve) => server.once("listening", resolve));
		const { port } = server.address() as AddressInfo;

		const response = await fetch(`http://127.0.0.1:${port}/users`, {
			headers: { "X-Request-Id": "req-1" },
		});
		t.equal(response.status, 200);
		await response.arrayBuffer();
		// The line is written when the response closes, just after the client has it.
		for (let waited = 0; waited < 2000 && lines.length === 0; waited += 10)
			await new Promise((resolve) => setTimeout(resolve, 10));
		t.match(lines, [
			{
				level: 30,
				msg: "request",
				requestId: "req-1",
				method: "GET",
				route: "(unmatched)",
				path: "/users",
				status: 200,
				durationMs: Number,
			},
		]);

		logger.info(
			{ password: "hunter2", config: { connectionString: "postgres://x" } },
			"settings",
		);
		t.match(lines.at(-1), {
			msg: "settings",
			password: "[Redacted]",
			config: { connectionString: "[Redacted]" },
		});
	},
);
