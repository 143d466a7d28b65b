import { createRequire } from "node:module";
import t from "tap";
import { createLogger, openLogDestination } from "../src/logger.ts";
import { logLines } from "./helpers/log-lines.ts";

t.test("each level is written as its name", async (t) => {
	const { destination, lines } = logLines();
	const logger = createLogger("trace", destination);
	const levels = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
	for (const level of levels) logger[level](`a ${level} line`);
	// A child keeps the parent's formatters, as the request line's logger does.
	logger.child({}, { redact: [] }).info("a child's line");
	for (let waited = 0; waited < 2000 && lines.length < 7; waited += 10)
		await new Promise((resolve) => setTimeout(resolve, 10));
	t.same(
		lines.map((line) => line.level),
		[...levels, "info"],
	);
	t.match(lines[2], {
		level: "info",
		time: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
		service: "sherpany",
		msg: "a info line",
	});
});

t.test("JSON logging never loads pino-pretty; pretty loads it", async (t) => {
	// pino-pretty is CommonJS: once imported, its files are in require's cache.
	const cache = createRequire(import.meta.url).cache;
	const prettyFiles = () =>
		Object.keys(cache).filter((file) => file.includes("/pino-pretty/"));
	await openLogDestination("json");
	t.same(prettyFiles(), [], "not loaded for JSON");
	await openLogDestination("pretty");
	t.ok(prettyFiles().length > 0, "loaded for pretty");
});
