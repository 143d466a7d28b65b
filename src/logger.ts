/**
 * Logging on stdout with pino: JSON lines for a log pipeline, or readable
 * lines for a person at a terminal (src/pretty-log.ts).
 */
import { type DestinationStream, type Logger, pino } from "pino";
import type { LogFormat, LogLevel } from "./config/server.ts";
import { VERSION } from "./version.ts";

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
			timestamp: pino.stdTimeFunctions.isoTime,
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
