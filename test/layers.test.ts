/**
 * The imports in `src/` run one way: main, commands, http/seed, db/cli/auth,
 * config, leaves. A file may import its own layer or a lower one, never a
 * higher one, and no files import each other in a loop. Type-only and
 * dynamic imports count too: they tie the code together just the same.
 * Imports are read with TypeScript's own pre-processor, nothing is run.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import ts from "typescript";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/**
 * Highest first. A folder ends in "/"; a file or folder not listed is a
 * leaf. deferred.ts (the lazily loaded commands) is main.ts's own list of
 * imports, so it stands beside it, as do the executable's entry point
 * (binary.ts) and the probe's path that both take (probe.ts).
 */
const LAYERS: readonly (readonly string[])[] = [
	["binary.ts", "main.ts", "probe.ts", "deferred.ts"],
	["commands/"],
	["http/", "seed/", "metrics.ts"],
	["db/", "cli/", "auth/", "logger.ts", "pretty-log.ts"],
	["config/"],
];

/** The layer of a path relative to src/: 0 is the top; leaves are below every layer. */
function layerOf(file: string): number {
	const index = LAYERS.findIndex((layer) =>
		layer.some((entry) =>
			entry.endsWith("/") ? file.startsWith(entry) : file === entry,
		),
	);
	return index === -1 ? LAYERS.length : index;
}

/** Every .ts file under src/, relative to it. */
function sourceFiles(dir = SRC): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) return sourceFiles(path);
		return entry.name.endsWith(".ts") ? [relative(SRC, path)] : [];
	});
}

/** The src/ files `file` imports (static, type-only, re-exported or dynamic). */
function importsOf(file: string): string[] {
	const text = readFileSync(join(SRC, file), "utf8");
	const { importedFiles } = ts.preProcessFile(text, true, true);
	const targets = importedFiles
		.map(({ fileName }) => fileName)
		.filter((name) => name.startsWith("."))
		.map((name) => relative(SRC, resolve(SRC, dirname(file), name)))
		.filter((target) => !target.startsWith(".."));
	return [...new Set(targets)];
}

const graph = new Map(sourceFiles().map((file) => [file, importsOf(file)]));

t.test("src/ was read", async (t) => {
	t.ok(graph.size > 30, `${graph.size} files`);
	t.ok(
		graph.get("deferred.ts")?.includes("commands/serve.ts"),
		"dynamic imports",
	);
	t.ok(graph.get("metrics.ts")?.includes("db/handle.ts"), "type imports");
});

t.test("no import runs up a layer", async (t) => {
	const upward: string[] = [];
	for (const [file, targets] of graph)
		for (const target of targets)
			if (layerOf(target) < layerOf(file)) upward.push(`${file} -> ${target}`);
	t.same(upward, [], "upward imports");
});

t.test("no files import each other in a loop", async (t) => {
	const cycles: string[] = [];
	const done = new Set<string>();
	const visit = (file: string, path: string[]): void => {
		const seen = path.indexOf(file);
		if (seen !== -1) {
			cycles.push([...path.slice(seen), file].join(" -> "));
			return;
		}
		if (done.has(file)) return;
		for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
		done.add(file);
	};
	for (const file of graph.keys()) visit(file, []);
	t.same(cycles, [], "import cycles");
});
