/**
 * A histogram child (src/histogram-child.ts) records what prom-client's own
 * `observe` with the same labels records: the same exposition, before and
 * after a reset, beside series observed the plain way.
 */
import fc from "fast-check";
import { Histogram, Registry } from "prom-client";
import t from "tap";
import { histogramChild } from "../src/histogram-child.ts";

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.1, 1, 10];

function histogram(registry: Registry) {
	return new Histogram({
		name: "test_duration_seconds",
		help: "test",
		labelNames: ["route", "status_code"],
		buckets: BUCKETS,
		registers: [registry],
	});
}

const value = fc.oneof(
	fc.constantFrom(...BUCKETS, 0, 20),
	fc.double({ min: 0, max: 20, noNaN: true }),
);

t.test("the same exposition as observe with labels", async (t) => {
	await fc.assert(
		fc.asyncProperty(
			fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), value), {
				maxLength: 40,
			}),
			fc.integer({ min: 0, max: 40 }),
			async (observations, resetAt) => {
				const plainRegistry = new Registry();
				const childRegistry = new Registry();
				const plain = histogram(plainRegistry);
				const viaChild = histogram(childRegistry);
				const children = new Map<string, ReturnType<typeof histogramChild>>();
				for (const [i, [route, seconds]] of observations.entries()) {
					if (i === resetAt) {
						plain.reset();
						viaChild.reset();
					}
					const labels = { route, status_code: "200" };
					plain.observe(labels, seconds);
					// Route "c" goes the plain way on both: children sit beside it.
					if (route === "c") {
						viaChild.observe(labels, seconds);
						continue;
					}
					let child = children.get(route);
					if (!child) {
						child = histogramChild(viaChild, labels);
						children.set(route, child);
					}
					child.observe(seconds);
				}
				const [a, b] = [
					await plainRegistry.metrics(),
					await childRegistry.metrics(),
				];
				if (a !== b) throw new Error(`${a}\n!==\n${b}`);
			},
		),
		{ numRuns: 300 },
	);
	t.pass("300 random sequences exposed alike");
});
