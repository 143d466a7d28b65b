/**
 * Logging on stdout with pino: JSON lines for a log pipeline, or readable
 * lines for a person at a terminal (src/pretty-log.ts).
 */
import { type DestinationStream, type Logger, pino } from "pino";
import type { LogFormat, LogLevel } from "./config/server.ts";
import { isoTimeBySecond } from "./iso-time.ts";
import { batchLines } from "./log-batches.ts";
import { VERSION } from "./version.ts";

/**
 * JSON lines wait in memory until about this many bytes are waiting, or
 * until the next flush: one write per ~15 request lines instead of one
 * each (src/log-batches.ts).
 */
const LOG_BATCH_BYTES = 4096;

/** The longest a JSON line waits before it is written, in ms; lines are flushed at exit too. */
const LOG_FLUSH_MS = 100;

/**
 * Creates the logger, writing to stdout by default. The level is written as
 * its label (`"level":"info"`), which log stacks read as a severity as it
 * is: Loki's level detection, Datadog's status remapper and Elastic's
 * `log.level` take names, and read pino's numbers (30, 50) as nothing or as
 * info. pino formats each label once, so a line costs no more than with
 * numbers. Passwords never reach the logger: configuration is logged only
 * through `describeDatabase`, and these paths are redacted as a safety net.
 */
export function createLogger(
	level: LogLevel,
	destination: DestinationStream = pino.destination(1),
): Logger {
	return pino(
		{
			level,
			base: { service: "sherpany", version: VERSION },
			formatters: { level: (label) => ({ level: label }) },
			redact: [
				"password",
				"*.password",
				"connectionString",
				"*.connectionString",
			],
			// pino's isoTime, with the date formatted once per second.
			timestamp: isoTimeBySecond(),
		},
		destination,
	);
}

/**
 * Where `format`'s lines go: stdout as they are, in batches
 * (src/log-batches.ts), or through pino-pretty, line by line for the person
 * reading. A batch is written synchronously, so the lines still waiting
 * when the process exits are written by its `exit` event (a SIGKILL
 * loses them, as it would any buffer).
 * pino-pretty is imported only when chosen, so JSON logging never runs it.
 */
export async function openLogDestination(
	format: LogFormat,
): Promise<DestinationStream> {
	if (format === "json") {
		const batches = batchLines(pino.destination({ dest: 1, sync: true }), {
			maxBytes: LOG_BATCH_BYTES,
			maxDelayMs: LOG_FLUSH_MS,
		});
		process.once("exit", () => batches.flush());
		return batches;
	}
	const stdout = pino.destination(1);
	const { prettyDestination } = await import("./pretty-log.ts");
	return prettyDestination(stdout);
}
