import type { AddressInfo } from "node:net";
import Koa from "koa";
import { Registry } from "prom-client";
import t from "tap";
import { observeRequests } from "../../src/http/observe.ts";
import { createLogger } from "../../src/logger.ts";
import { createMetrics } from "../../src/metrics.ts";
import { logLines } from "../helpers/log-lines.ts";

t.test(
	"the request line is logged at info; the service's other lines stay redacted",
	async (t) => {
		// The service's own logger (at info, with its redaction).
		const { destination, lines } = logLines();
		const logger = createLogger("info", destination);
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
				level: "info",
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
