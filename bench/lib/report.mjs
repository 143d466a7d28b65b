// Collects the bench's figures: markdown table rows, and the JSON results.

/** One table of verdicts; `check` records a ratio against its target. */
export function createReport() {
	const rows = [];
	const figures = [];
	let met = true;
	return {
		rows,
		figures,
		get met() {
			return met;
		},
		/**
		 * Records a measured figure. With `target`, the ratio is checked
		 * (`max`: at most; `min`: at least) and a miss fails the bench.
		 */
		add({ scenario, measured, ratio, spread, target }) {
			let verdict = "";
			if (target) {
				const ok =
					target.min !== undefined ? ratio >= target.min : ratio <= target.max;
				if (!ok) met = false;
				verdict = ok ? "met" : "MISSED";
			}
			const want = target
				? target.min !== undefined
					? `≥ ${target.min}×`
					: `≤ ${target.max}×`
				: "";
			rows.push(
				`| ${scenario} | ${measured} | ${ratio === undefined ? "" : spread ? `${spread}×` : `${ratio.toFixed(2)}×`} | ${want} | ${verdict} |`,
			);
			figures.push({ scenario, measured, ratio, spread, target, verdict });
		},
	};
}

export const TABLE_HEAD = [
	"| scenario | measured: median (range of rounds) | ratio: median (range) | target | verdict |",
	"| --- | --- | --- | --- | --- |",
];
