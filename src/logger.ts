/**
 * Logging on stdout with pino: JSON lines for a log pipeline, or readable
 * lines for a person at a terminal (src/pretty-log.ts).
 */
import { type DestinationStream, type Logger, pino } from "pino";
import type { LogLevel } from "./config/server.ts";
import { isoTimeBySecond } from "./iso-time.ts";
import { VERSION } from "./version.ts";

/**
 * Lines wait in memory until this many bytes are waiting, or until the next
 * flush: one write per ~15 request lines instead of one each, which under
 * load cost a system call and a thread-pool round trip per request
 * (bench/RESULTS.md).
 */
export const LOG_BATCH_BYTES = 4096;

/** The longest a line waits before it is written, in ms; lines are flushed at exit too. */
export const LOG_FLUSH_MS = 100;

/**
 * Creates the logger, writing to stdout by default (in batches, see
 * {@link LOG_BATCH_BYTES}). Passwords never reach it:
 * configuration is logged only through `describeDatabase`, and these paths
 * are redacted as a safety net.
 */
export function createLogger(
	level: LogLevel,
	destination: DestinationStream = pino.destination({
		dest: 1,
		minLength: LOG_BATCH_BYTES,
		periodicFlush: LOG_FLUSH_MS,
	}),
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
			timestamp: isoTimeBySecond(),
		},
		destination,
	);
}

/**
 * Where `format`'s lines go: stdout as they are, or through pino-pretty.
 * pino-pretty is imported only when chosen, so JSON logging never runs it.
 */
export async function openLogDestination(
	format: LogFormat,
): Promise<DestinationStream> {
	const stdout = pino.destination(1);
	if (format === "json") return stdout;
	const { prettyDestination } = await import("./pretty-log.ts");
	return prettyDestination(stdout);
}
