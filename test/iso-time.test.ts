/** The logger's cached timestamp writes what pino's `isoTime` writes, at any moment. */
import fc from "fast-check";
import t from "tap";
import { isoTimeBySecond } from "../src/iso-time.ts";

const isoTime = (ms: number) => `,"time":"${new Date(ms).toISOString()}"`;

t.test("the same text as toISOString, in and across seconds", async (t) => {
	fc.assert(
		fc.property(
			// From 1970 to 9999, in rising steps: some in the same second, some not.
			fc.integer({ min: 0, max: 253_402_300_000_000 }),
			fc.array(fc.integer({ min: 0, max: 2500 }), { maxLength: 20 }),
			(start, steps) => {
				let now = start;
				const time = isoTimeBySecond(() => now);
				for (const step of [0, ...steps]) {
					now += step;
					const got = time();
					if (got !== isoTime(now))
						throw new Error(`${now}: ${got} !== ${isoTime(now)}`);
				}
			},
		),
		{ numRuns: 2000 },
	);
	const time = isoTimeBySecond(() => Date.UTC(2026, 0, 2, 3, 4, 5, 7));
	t.equal(time(), ',"time":"2026-01-02T03:04:05.007Z"');
});
