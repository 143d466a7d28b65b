/** JSON-lines logging on stdout with pino. */
import { type DestinationStream, type Logger, pino } from "pino";
import type { LogLevel } from "./config/server.ts";
import { VERSION } from "./version.ts";

/**
 * Creates the logger, writing to stdout by default. Passwords never reach it:
 * configuration is logged only through `describeDatabase`, and these paths
 * are redacted as a safety net.
 */
export function createLogger(
	level: LogLevel,
	destination: DestinationStream = pino.destination(1),
): Logger {
	return pino(
		{
			level,
			base: { service: "sherpany", version: VERSION },
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
