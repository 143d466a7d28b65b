/**
 * Readable log lines for a person at a terminal: time, level, message, and
 * the request line's fields in one short phrase, coloured when the terminal
 * has colour (pino-pretty decides, honouring NO_COLOR and FORCE_COLOR).
 * pino-pretty runs here in the logging thread as a plain function over
 * each line, not as a worker transport: the executable and Deno have no
 * module files for a worker to load, and a synchronous write loses no line
 * when the process exits.
 */
import type { DestinationStream } from "pino";
import { prettyFactory } from "pino-pretty";

/** Fields every line carries that a person at a terminal does not need. */
const HIDDEN_FIELDS = "pid,hostname,service,version";

/**
 * The request line's fields shown after its message, as in
 * `request GET /users 200 1.2 ms`; the request id stays as a field below.
 */
const REQUEST_FIELDS = ["method", "path", "status", "durationMs"];

/** Writes each JSON line that pino hands over as a readable line to `out`. */
export function prettyDestination(out: DestinationStream): DestinationStream {
	const prettify = prettyFactory({
		ignore: `${HIDDEN_FIELDS},route,${REQUEST_FIELDS.join(",")}`,
		translateTime: "SYS:HH:MM:ss.l",
		singleLine: true,
		messageFormat:
			"{msg}{if method} {method} {path} {status} {durationMs} ms{end}",
	});
	return {
		write(line: string): void {
			out.write(prettify(line));
		},
	};
}
