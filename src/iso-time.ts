/**
 * pino's `timestamp` as `pino.stdTimeFunctions.isoTime` writes it
 * (`,"time":"2026-01-02T03:04:05.678Z"`), with the date and time up to the
 * second formatted once per second: `toISOString` on every line was half
 * the cost of writing the request line (bench/RESULTS.md).
 */
export function isoTimeBySecond(now: () => number = Date.now): () => string {
	let second = Number.NaN;
	let prefix = "";
	return () => {
		const ms = now();
		const millis = ms % 1000;
		const start = ms - millis;
		if (start !== second) {
			second = start;
			// "YYYY-MM-DDTHH:MM:SS."
			prefix = `,"time":"${new Date(start).toISOString().slice(0, 20)}`;
		}
		return `${prefix}${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z"`;
	};
}
