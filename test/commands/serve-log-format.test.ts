/**
 * `serve`'s log lines as `npm start` prints them (bin/sherpany, from
 * source): readable lines on a real pseudo-terminal, JSON lines through a
 * pipe, and LOG_FORMAT choosing either way round.
 */
import t from "tap";
import {
	coverageEnv,
	hasStackTrace,
	runCli,
	SHERPANY_BIN,
} from "../helpers/cli.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";
import {
	isColoured,
	runLoggedServe,
	withoutColour,
} from "../helpers/serve-logs.ts";

// The database is not the subject: one server is enough.
const pg = await startPostgres(t, { everyServer: false });
const url = await createMigratedDatabase(pg);
const env = {
	...coverageEnv(),
	PATH: process.env.PATH ?? "/usr/bin:/bin",
	DATABASE_URL: url,
	SHUTDOWN_DELAY_MS: "0",
	// A terminal that has colour, as a person's has.
	TERM: "xterm-256color",
};

/** The request's readable line: time, level, method, path, status and duration, then its id. */
const prettyRequestLine = (requestId: string) =>
	new RegExp(
		`^\\[\\d{2}:\\d{2}:\\d{2}\\.\\d{3}\\] INFO: request GET /users 200 \\d+(\\.\\d+)? ms \\{"requestId":"${requestId}"\\}$`,
	);

/** Every line of the output parsed as JSON; the terminal's echoed ^C dropped. */
const parseAll = (lines: readonly string[]) =>
	lines
		.map((line) => line.replace(/^\^C/, ""))
		.filter((line) => line !== "")
		.map((line) => JSON.parse(line) as Record<string, unknown>);

t.test("on a terminal: readable, coloured lines", async (t) => {
	const serve = await runLoggedServe(t, {
		command: SHERPANY_BIN,
		env,
		terminal: true,
		requestId: "on-a-terminal",
	});
	t.equal(serve.code, 0, "Ctrl-C exits 0", { stderr: serve.stderr });
	const lines = serve.lines.map(withoutColour);
	t.notOk(
		lines.some((line) => line.includes('{"level"')),
		"no JSON log line",
		{ lines },
	);
	t.ok(
		lines.some((line) => prettyRequestLine("on-a-terminal").test(line)),
		"the request in one readable line",
		{ lines },
	);
	t.ok(
		lines.some((line) => /\] INFO: shutdown complete$/.test(line)),
		"the last line, written as the process exits",
	);
	t.notOk(
		lines.some((line) => /"(pid|hostname|service)"/.test(line)),
		"no field a person does not need",
	);
	t.ok(isColoured(serve.lines.join("\n")), "coloured");
});

t.test("through a pipe: JSON lines with level names", async (t) => {
	const serve = await runLoggedServe(t, {
		command: SHERPANY_BIN,
		env,
		terminal: false,
		requestId: "through-a-pipe",
	});
	t.equal(serve.code, 0, "SIGTERM exits 0", { stderr: serve.stderr });
	const logs = parseAll(serve.lines);
	t.match(
		logs.find((entry) => entry.requestId === "through-a-pipe"),
		{
			level: "info",
			msg: "request",
			method: "GET",
			route: "/users",
			status: 200,
			durationMs: Number,
			service: "sherpany",
		},
	);
	t.match(
		logs.find((entry) => entry.msg === "shutdown complete"),
		{ level: "info" },
		"the line written as the process exits",
		{ lines: serve.lines },
	);
});

t.test("LOG_FORMAT=json on a terminal: JSON lines", async (t) => {
	const serve = await runLoggedServe(t, {
		command: SHERPANY_BIN,
		env: { ...env, LOG_FORMAT: "json" },
		terminal: true,
		requestId: "json-on-a-terminal",
	});
	t.equal(serve.code, 0, { stderr: serve.stderr });
	const logs = parseAll(serve.lines);
	t.match(
		logs.find((entry) => entry.requestId === "json-on-a-terminal"),
		{
			level: "info",
			msg: "request",
		},
	);
});

t.test(
	"LOG_FORMAT=pretty through a pipe: readable lines, no colour",
	async (t) => {
		const serve = await runLoggedServe(t, {
			command: SHERPANY_BIN,
			env: { ...env, LOG_FORMAT: "pretty" },
			terminal: false,
			requestId: "pretty-through-a-pipe",
		});
		t.equal(serve.code, 0, { stderr: serve.stderr });
		t.ok(
			serve.lines.some((line) =>
				prettyRequestLine("pretty-through-a-pipe").test(line),
			),
			"the request in one readable line",
			{ lines: serve.lines },
		);
		t.notOk(isColoured(serve.lines.join("\n")), "no colour on a pipe");
	},
);

t.test("a bad format exits 2 with one line naming it", async (t) => {
	for (const [name, args, variables] of [
		["LOG_FORMAT", ["serve"], { LOG_FORMAT: "yaml" }],
		["--log-format", ["serve", "--log-format", "text"], {}],
	] as const) {
		const result = await runCli(args, { DATABASE_URL: url, ...variables });
		t.equal(result.code, 2, `${name}: exit 2`);
		t.match(
			result.stderr,
			new RegExp(
				`^sherpany: ${name}: expected one of json, pretty, got "\\w+"\\n$`,
			),
			`${name}: named, with the choices`,
		);
		t.notOk(hasStackTrace(result.stderr), `${name}: no stack trace`);
		t.equal(result.stdout, "", `${name}: nothing logged`);
	}
});
