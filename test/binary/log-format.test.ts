/**
 * The built executable's log lines: readable on a real pseudo-terminal,
 * where pino-pretty is loaded from the deferred bundle, and JSON through a
 * pipe, as a container runtime reads them.
 */
import { join } from "node:path";
import t from "tap";
import { requireFreshBinary, sandbox } from "../helpers/binary.ts";
import {
	isColoured,
	runLoggedServe,
	withoutColour,
} from "../helpers/serve-logs.ts";

await requireFreshBinary();

t.test("on a terminal: readable, coloured lines", async (t) => {
	const box = await sandbox(t);
	const serve = await runLoggedServe(t, {
		command: box.binary,
		env: {
			PATH: "/usr/bin:/bin",
			TERM: "xterm-256color",
			SHERPANY_DATA_DIR: join(box.dir, "data"),
		},
		terminal: true,
		requestId: "binary-on-a-terminal",
	});
	t.equal(serve.code, 0, "Ctrl-C exits 0", { stderr: serve.stderr });
	const lines = serve.lines.map(withoutColour);
	t.ok(
		lines.some((line) =>
			/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: request GET \/users 200 [\d.]+ ms \{"requestId":"binary-on-a-terminal"\}$/.test(
				line,
			),
		),
		"the request in one readable line",
		{ lines },
	);
	t.notOk(
		lines.some((line) => line.includes('{"level"')),
		"no JSON log line",
	);
	t.ok(isColoured(serve.lines.join("\n")), "coloured");
});

t.test("through a pipe: JSON lines", async (t) => {
	const box = await sandbox(t);
	const serve = await runLoggedServe(t, {
		command: box.binary,
		env: {
			PATH: "/usr/bin:/bin",
			TERM: "xterm-256color",
			SHERPANY_DATA_DIR: join(box.dir, "data"),
		},
		terminal: false,
		requestId: "binary-through-a-pipe",
	});
	t.equal(serve.code, 0, "SIGTERM exits 0", { stderr: serve.stderr });
	const logs = serve.lines
		.filter((line) => line !== "")
		.map((line) => JSON.parse(line) as Record<string, unknown>);
	t.match(
		logs.find((entry) => entry.requestId === "binary-through-a-pipe"),
		{ level: "info", msg: "request", status: 200 },
	);
});
