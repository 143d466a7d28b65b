/**
 * What each of the binary's three bundles holds, from esbuild's own account
 * of them (the metafiles build.mjs writes beside dist/sherpany). The
 * launcher, the executable's main script, runs every `check-health` in every
 * pod, and the CLI bundle every other command: a new import of commander
 * into the first, or an eager import of database, HTTP or logging code into
 * either, would slow the liveness probe or `--version` without any other
 * test noticing.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
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
	// Loaded only when the log format is pretty (src/pretty-log.ts).
	"pino-pretty",
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

/**
 * Loads the CLI bundle in a new Node (the pinned one that runs this test),
 * runs `main(argv)`, and returns the exit code and the Node built-ins that
 * loading the bundle and the call loaded.
 */
async function builtinsLoadedBy(
	argv: readonly string[],
): Promise<{ code: number; loaded: string[] }> {
	const program = `
		const { PassThrough } = require("node:stream");
		const before = new Set(process.moduleLoadList);
		const { main } = require(process.argv[1]);
		const io = { stdout: new PassThrough(), stderr: new PassThrough() };
		main(process.argv.slice(2), {}, io).then((code) => {
			const loaded = process.moduleLoadList
				.filter((entry) => !before.has(entry) && entry.startsWith("NativeModule "))
				.map((entry) => entry.slice("NativeModule ".length));
			console.log(JSON.stringify({ code, loaded }));
		});`;
	// Without the NODE_OPTIONS that tap adds to every child process: its
	// hooks load node:net themselves.
	const { stdout } = await promisify(execFile)("/usr/bin/env", [
		"-u",
		"NODE_OPTIONS",
		process.execPath,
		"-e",
		program,
		join(ROOT, "dist", "cli.cjs"),
		...argv,
	]);
	return JSON.parse(stdout);
}

t.test("--version loads neither node:net nor node:tty", async (t) => {
	// main.ts imports check-health's modules (node:net) and node:tty lazily:
	// statically imported, they cost every command line but the probe ~5 ms.
	const version = await builtinsLoadedBy(["--version"]);
	t.equal(version.code, 0, "--version exits 0");
	t.notOk(version.loaded.includes("net"), "node:net is not loaded");
	t.notOk(version.loaded.includes("tty"), "node:tty is not loaded");
	// Proves the list sees node:net when something does load it.
	const probe = await builtinsLoadedBy(["check-health", "--port", "1"]);
	t.equal(probe.code, 1, "check-health on a closed port exits 1");
	t.ok(probe.loaded.includes("net"), "check-health loads node:net");
});
