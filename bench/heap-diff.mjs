#!/usr/bin/env node
/**
 * Compares V8 heap snapshots (the .heapsnapshot files `bench/soak.mjs`
 * writes with SOAK_HEAP_SNAPSHOTS=1) by constructor: how many live objects
 * of each kind and their shallow size, first against each later one.
 *
 *   node bench/heap-diff.mjs first.heapsnapshot later.heapsnapshot [...]
 *
 * A snapshot is taken after a full garbage collection, so everything in it
 * is reachable: a leak shows as a total and some constructors that keep
 * growing from one snapshot to the next; a settled heap shows totals and
 * counts that stay within noise. Prints the totals per snapshot, then the
 * constructors whose size changed most between the first and the last.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";

const files = process.argv.slice(2);
if (files.length < 2) {
	console.error(
		"usage: node bench/heap-diff.mjs A.heapsnapshot B.heapsnapshot [...]",
	);
	process.exit(2);
}

/**
 * Live objects by kind: objects by constructor name, everything else by its
 * node type (strings, closures, arrays, compiled code, ...).
 */
function summarize(file) {
	const { snapshot, nodes, strings } = JSON.parse(readFileSync(file, "utf8"));
	const fields = snapshot.meta.node_fields;
	const types = snapshot.meta.node_types[0];
	const width = fields.length;
	const typeAt = fields.indexOf("type");
	const nameAt = fields.indexOf("name");
	const sizeAt = fields.indexOf("self_size");
	const kinds = new Map();
	let count = 0;
	let bytes = 0;
	for (let i = 0; i < nodes.length; i += width) {
		const type = types[nodes[i + typeAt]];
		const size = nodes[i + sizeAt];
		// Objects are grouped by constructor; a closure by its function name
		// would split one leak into many rows, so closures stay one kind.
		const kind =
			type === "object" || type === "native"
				? strings[nodes[i + nameAt]].slice(0, 80)
				: `(${type})`;
		const entry = kinds.get(kind) ?? { count: 0, bytes: 0 };
		entry.count += 1;
		entry.bytes += size;
		kinds.set(kind, entry);
		count += 1;
		bytes += size;
	}
	return { file: basename(file), count, bytes, kinds };
}

const mb = (bytes) => (bytes / 2 ** 20).toFixed(2);
const summaries = files.map(summarize);
for (const { file, count, bytes } of summaries) {
	console.log(`${file}: ${count} objects, ${mb(bytes)} MB live`);
}
const first = summaries[0];
const last = summaries.at(-1);
const rows = [...new Set([...first.kinds.keys(), ...last.kinds.keys()])].map(
	(kind) => {
		const a = first.kinds.get(kind) ?? { count: 0, bytes: 0 };
		const b = last.kinds.get(kind) ?? { count: 0, bytes: 0 };
		const mid = summaries
			.slice(1, -1)
			.map((s) => s.kinds.get(kind)?.count ?? 0);
		return {
			kind,
			counts: [a.count, ...mid, b.count],
			deltaCount: b.count - a.count,
			deltaBytes: b.bytes - a.bytes,
		};
	},
);
rows.sort((x, y) => Math.abs(y.deltaBytes) - Math.abs(x.deltaBytes));
console.log(
	`\nlargest changes ${first.file} -> ${last.file} (counts at each snapshot):`,
);
for (const row of rows.slice(0, 20)) {
	console.log(
		`${(row.deltaBytes >= 0 ? "+" : "") + (row.deltaBytes / 1024).toFixed(1)} KB`.padStart(
			12,
		) +
			`  ${(row.deltaCount >= 0 ? "+" : "") + row.deltaCount}`.padStart(9) +
			`  ${row.kind}  [${row.counts.join(" -> ")}]`,
	);
}
console.log(
	`\ntotal: ${first.count} -> ${last.count} objects (${last.count - first.count >= 0 ? "+" : ""}${last.count - first.count}), ${mb(first.bytes)} -> ${mb(last.bytes)} MB (${(((last.bytes - first.bytes) / first.bytes) * 100).toFixed(1)} %)`,
);
