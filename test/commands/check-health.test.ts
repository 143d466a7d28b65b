import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import t, { type Test } from "tap";
import { runCli } from "../helpers/cli.ts";

/** A stand-in server answering `status` on every path (or never answering). */
async function serveStatus(t: Test, status: number | "hang"): Promise<number> {
	const server: Server = createServer((request, response) => {
		if (status === "hang") return;
		response
			.writeHead(status, { "content-type": "application/json" })
			.end(`{"path":"${request.url}"}`);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	t.teardown(() => {
		server.closeAllConnections();
		return new Promise((resolve) => server.close(() => resolve(undefined)));
	});
	return (server.address() as AddressInfo).port;
}

t.test("exit 0 when /health answers 2xx", async (t) => {
	const port = await serveStatus(t, 200);
	const result = await runCli(["check-health"], { PORT: String(port) });
	t.equal(result.code, 0);
	t.equal(
		result.stdout,
		`healthy: http://127.0.0.1:${port}/health answered 200\n`,
	);
});

t.test("--ready probes /ready; --url probes any URL", async (t) => {
	const port = await serveStatus(t, 204);
	let result = await runCli([
		"check-health",
		"--ready",
		"--port",
		String(port),
	]);
	t.equal(result.code, 0);
	t.match(result.stdout, `http://127.0.0.1:${port}/ready answered 204`);
	result = await runCli([
		"check-health",
		"--url",
		`http://127.0.0.1:${port}/custom`,
	]);
	t.match(result.stdout, `/custom answered 204`);
});

t.test("exit 1 with one line when not healthy", async (t) => {
	const failing = await serveStatus(t, 503);
	let result = await runCli(["check-health", "--port", String(failing)]);
	t.equal(result.code, 1);
	t.equal(
		result.stderr,
		`sherpany: unhealthy: http://127.0.0.1:${failing}/health answered 503\n`,
	);

	result = await runCli(["check-health", "--port", "1"]);
	t.equal(result.code, 1);
	t.match(
		result.stderr,
		/^sherpany: unhealthy: http:\/\/127\.0\.0\.1:1\/health unreachable \(ECONNREFUSED\)\n$/,
	);

	const hanging = await serveStatus(t, "hang");
	const started = Date.now();
	result = await runCli([
		"check-health",
		"--port",
		String(hanging),
		"--timeout-ms",
		"300",
	]);
	t.equal(result.code, 1);
	t.match(result.stderr, /did not answer within 300 ms/);
	t.ok(Date.now() - started < 5000, "gives up on time");
});

t.test(
	"check-health loads no database, HTTP framework or logging code",
	async (t) => {
		const preload = fileURLToPath(
			new URL("../fixtures/log-modules.mjs", import.meta.url),
		);
		const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
		const node = fileURLToPath(
			new URL("../../node_modules/node/bin/node", import.meta.url),
		);
		const { stderr } = await new Promise<{ stderr: string }>((resolve) => {
			execFile(
				node,
				["--import", preload, main, "check-health", "--port", "1"],
				{ env: { PATH: "/usr/bin:/bin" } },
				(_error, _stdout, stderr) => resolve({ stderr }),
			);
		});
		const modules = stderr
			.split("\n")
			.filter((line) => line.startsWith("module file:"));
		t.ok(
			modules.some((line) => line.includes("src/commands/check-health.ts")),
			"the probe ran",
		);
		const heavy = modules.filter((line) =>
			/node_modules\/(pg|kysely|@electric-sql|koa|@koa|pino|prom-client)\/|src\/(db\/(?!classify-error)|http\/)/.test(
				line,
			),
		);
		t.same(heavy, [], "nothing heavy loaded");
		t.notOk(
			modules.some((line) => line.includes("node_modules/commander/")),
			"a probe's plain command line skips commander",
		);
	},
);
