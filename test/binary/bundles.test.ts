/**
 * What each of the binary's three bundles holds, from esbuild's own account
 * of them (the metafiles build.mjs writes beside dist/sherpany). The
 * launcher, the executable's main script, runs every `check-health` in every
 * pod, and the CLI bundle every other command: a new import of commander
 * into the first, or an eager import of database, HTTP or logging code into
 * either, would slow the liveness probe or `--version` without any other
 * test noticing.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { requireFreshBinary } from "../helpers/binary.ts";
import { ROOT } from "../helpers/dist.ts";

/** The part of an esbuild metafile read here. */
interface Metafile {
	readonly inputs: Readonly<Record<string, unknown>>;
}

/** The packages that must load only with `serve`, `migrate` or `seed`. */
const DEFERRED_PACKAGES = [
	"koa",
	"@koa/router",
	"pg",
	"pino",
	"kysely",
	"prom-client",
	"@electric-sql/pglite",
];

await requireFreshBinary();

async function readMetafile(name: string): Promise<Metafile> {
	return JSON.parse(
		await readFile(join(ROOT, "dist", name), "utf8"),
	) as Metafile;
}

/** The npm packages a bundle was built from, by name (`@scope/name` kept whole). */
function packagesOf(meta: Metafile): Set<string> {
	const names = new Set<string>();
	for (const input of Object.keys(meta.inputs)) {
		const match = input.match(/(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//);
		if (match?.[1]) names.add(match[1]);
	}
	return names;
}

t.test("the launcher holds the probe and no package at all", async (t) => {
	const launcher = await readMetafile("launcher.meta.json");
	t.ok(
		Object.hasOwn(launcher.inputs, "src/binary.ts"),
		"built from src/binary.ts",
	);
	t.ok(
		Object.hasOwn(launcher.inputs, "src/commands/check-health.ts"),
		"check-health is in the launcher",
	);
	t.notOk(
		Object.hasOwn(launcher.inputs, "src/main.ts"),
		"the CLI (src/main.ts) is not in the launcher",
	);
	t.same([...packagesOf(launcher)], [], "no npm package is in the launcher");
});

t.test(
	"the CLI bundle holds commander and no database, HTTP or logging code",
	async (t) => {
		const cli = await readMetafile("cli.meta.json");
		t.ok(Object.hasOwn(cli.inputs, "src/main.ts"), "built from src/main.ts");
		const packages = packagesOf(cli);
		for (const name of DEFERRED_PACKAGES)
			t.notOk(packages.has(name), `${name} is not in the CLI bundle`);
		t.same(
			[...packages].sort(),
			["commander"],
			"commander is the only package in the CLI bundle",
		);
	},
);

t.test("the deferred bundle holds what the CLI leaves out", async (t) => {
	// Proves the checks above look where those packages really are.
	const packages = packagesOf(await readMetafile("deferred.meta.json"));
	for (const name of DEFERRED_PACKAGES)
		t.ok(packages.has(name), `${name} is in the deferred bundle`);
});
