/**
 * A histogram series whose labels are fixed, observed without prom-client
 * validating and hashing the labels on every call (a few µs per request on
 * `/users`, bench/RESULTS.md). It updates the series prom-client made for
 * those labels, in prom-client's own shape (pinned, 15.1.3); should that
 * shape not be found, or the series be reset, it falls back to `observe`
 * with the labels, which is always right. Make a child when its first
 * value comes: making it exposes its series (at zero).
 */
import type { Histogram, LabelValues } from "prom-client";

/** One series of a histogram. */
export interface HistogramChild {
	observe(value: number): void;
}

/** What prom-client keeps per series. */
interface Series {
	labels: object;
	sum: number;
	count: number;
	bucketValues: Record<string, number>;
}

interface HistogramInternals {
	readonly hashMap?: Record<string, Series>;
	readonly upperBounds?: readonly number[];
}

/** The series of `histogram` for `labels`, made now if it is new. */
export function histogramChild<T extends string>(
	histogram: Histogram<T>,
	labels: LabelValues<T>,
): HistogramChild {
	const fallback: HistogramChild = {
		observe: (value) => histogram.observe(labels, value),
	};
	const internals = histogram as unknown as HistogramInternals;
	// `zero` replaces a series that exists: only a new one is made here.
	if (!hasSeries(internals, labels)) histogram.zero(labels);
	const { hashMap, upperBounds } = internals;
	if (!hashMap || !upperBounds) return fallback;
	const key = Object.keys(hashMap).find((k) =>
		sameLabels(hashMap[k]?.labels, labels),
	);
	if (key === undefined) return fallback;
	const series = hashMap[key] as Series;
	// The buckets' keys as prom-client stores them, made once: a number used
	// as a key is turned into a string at every lookup.
	const bucketKeys = upperBounds.map(String);
	return {
		observe(value) {
			// A reset (or a registry that no longer holds this series) drops
			// it: go through prom-client, which makes it again.
			if (internals.hashMap?.[key] !== series || !Number.isFinite(value)) {
				histogram.observe(labels, value);
				return;
			}
			series.sum += value;
			series.count += 1;
			for (let i = 0; i < upperBounds.length; i++) {
				if (value <= (upperBounds[i] as number)) {
					const bucket = bucketKeys[i] as string;
					series.bucketValues[bucket] = (series.bucketValues[bucket] ?? 0) + 1;
					return;
				}
			}
		},
	};
}

function hasSeries(internals: HistogramInternals, labels: object): boolean {
	return Object.values(internals.hashMap ?? {}).some((series) =>
		sameLabels(series.labels, labels),
	);
}

function sameLabels(a: object | undefined, b: object): boolean {
	if (a === undefined) return false;
	const keysA = Object.keys(a);
	const keysB = Object.keys(b);
	return (
		keysA.length === keysB.length &&
		keysB.every(
			(k) =>
				(a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k],
		)
	);
}
