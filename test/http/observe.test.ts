import type { AddressInfo } from "node:net";
import Router from "@koa/router";
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

t.test(
	"labels, levels, request ids and the in-flight count, request by request",
	async (t) => {
		const { destination, lines } = logLines();
		const logger = createLogger("info", destination);
		const metrics = createMetrics(new Registry());
		const router = new Router();
		let inFlight = -1;
		router.all(["/health", "/ready", "/metrics"], (ctx) => {
			inFlight = metrics.httpRequestsInFlight.count;
			ctx.status = Number(ctx.query.status ?? 200);
			ctx.body = "x";
		});
		router.all("/users/:id", (ctx) => {
			ctx.body = "x";
		});
		const app = new Koa();
		app.use(observeRequests(logger, metrics));
		app.use(router.routes());
		const server = app.listen(0, "127.0.0.1");
		t.teardown(() => void server.close());
		await new Promise((resolve) => server.once("listening", resolve));
		const { port } = server.address() as AddressInfo;
		/** Sends one request and waits for its log line or its histogram sample. */
		const send = async (method: string, path: string, id?: string) => {
			const before = await countSamples(metrics);
			const response = await fetch(`http://127.0.0.1:${port}${path}`, {
				method,
				headers: id === undefined ? {} : { "X-Request-Id": id },
			});
			await response.arrayBuffer();
			for (let waited = 0; waited < 5000; waited += 10) {
				if ((await countSamples(metrics)) > before) break;
				await new Promise((resolve) => setTimeout(resolve, 10));
			}
			return response;
		};

		// fetch() cannot send CONNECT or TRACE.
		const methods = [
			"GET",
			"HEAD",
			"POST",
			"PUT",
			"PATCH",
			"DELETE",
			"OPTIONS",
		];
		for (const method of methods) await send(method, "/users/7");
		await send("PROPFIND", "/users/7");
		const labels = (await metrics.httpRequestDuration.get()).values
			.filter(
				(sample) => sample.metricName === "http_request_duration_seconds_count",
			)
			.map(
				(sample) =>
					`${sample.labels.method} ${sample.labels.route} ${sample.labels.status_code}`,
			);
		t.same(
			labels.sort(),
			[...methods, "_OTHER"].map((method) => `${method} /users/:id 200`).sort(),
			"each RFC 9110 method keeps its name, the others share _OTHER",
		);
		t.same(
			lines.map((line) => line.method),
			[...methods, "PROPFIND"],
		);

		lines.length = 0;
		for (const probe of ["/health", "/ready", "/metrics"])
			await send("GET", `${probe}?status=399`);
		t.equal(inFlight, 1, "the request is counted while it runs");
		t.equal(
			metrics.httpRequestsInFlight.count,
			0,
			"and no longer once it closed",
		);
		t.same(lines, [], "a successful probe is not logged at info");
		await send("GET", "/health?status=400");
		t.match(
			lines,
			[{ level: "info", route: "/health", status: 400 }],
			"a failed one is",
		);

		const kept = await send("GET", "/users/1", "a.B:c-9_".padEnd(128, "x"));
		t.equal(kept.headers.get("x-request-id"), "a.B:c-9_".padEnd(128, "x"));
		for (const unsafe of ["x".repeat(129), "bad id", "a/b"]) {
			const replaced = await send("GET", "/users/1", unsafe);
			t.match(replaced.headers.get("x-request-id"), /^[0-9a-f-]{36}$/, unsafe);
		}
		const durations = lines.map((line) => line.durationMs as number);
		t.ok(
			durations.every(
				(ms) => ms > 0 && ms < 5000 && Math.round(ms * 1000) === ms * 1000,
			),
			`durations in ms with µs precision: ${durations.join(", ")}`,
		);
		const sum = (await metrics.httpRequestDuration.get()).values
			.filter(
				(sample) => sample.metricName === "http_request_duration_seconds_sum",
			)
			.reduce((total, sample) => total + sample.value, 0);
		t.ok(sum > 0 && sum < 15, `seconds, not milliseconds: ${sum}`);
	},
);

async function countSamples(metrics: ReturnType<typeof createMetrics>) {
	return (await metrics.httpRequestDuration.get()).values
		.filter(
			(sample) => sample.metricName === "http_request_duration_seconds_count",
		)
		.reduce((total, sample) => total + sample.value, 0);
}

t.test("a successful probe is logged at debug", async (t) => {
	const { destination, lines } = logLines();
	const logger = createLogger("debug", destination);
	const router = new Router();
	router.get("/health", (ctx) => {
		ctx.body = "x";
	});
	const app = new Koa();
	app.use(observeRequests(logger, createMetrics(new Registry())));
	app.use(router.routes());
	const server = app.listen(0, "127.0.0.1");
	t.teardown(() => void server.close());
	await new Promise((resolve) => server.once("listening", resolve));
	const { port } = server.address() as AddressInfo;
	const response = await fetch(`http://127.0.0.1:${port}/health`);
	t.equal(response.status, 200);
	await response.arrayBuffer();
	// The line is written when the response closes, just after the client has it.
	for (let waited = 0; waited < 5000 && lines.length === 0; waited += 10)
		await new Promise((resolve) => setTimeout(resolve, 10));
	t.match(lines, [
		{ level: "debug", msg: "request", route: "/health", status: 200 },
	]);
});
