// Small statistics for the bench's interleaved rounds.

/** The median of `values` (mean of the middle two for an even count). */
export function median(values) {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `median (min–max)` of `values`, each formatted with `format`. */
export function spread(values, format) {
	return `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`;
}

/** Each round's ratio of `a` to `b` (rounds paired in order). */
export function ratios(a, b) {
	return a.map((value, i) => value / b[i]);
}
