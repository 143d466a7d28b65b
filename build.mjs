// Builds dist/sherpany, one Linux x86-64 executable: esbuild bundles src/ into
// one CommonJS file (a single-executable's main script must be CommonJS), Node's
// SEA tooling turns it and PGlite's WebAssembly assets into a blob, and postject
// injects the blob into a copy of the pinned Node 24 binary.
//
// Run with `npm run build` (the pinned node_modules/.bin/node runs it: the
// executable embeds whichever node runs this script).
import { execFileSync } from "node:child_process";
import {
	chmodSync,
	copyFileSync,
	mkdirSync,
	rmSync,
	statSync,
	writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { build } from "esbuild";

const require = createRequire(import.meta.url);
const OUT_DIR = "dist";
const BUNDLE = join(OUT_DIR, "sherpany.cjs");
const BLOB = join(OUT_DIR, "sea-prep.blob");
const BINARY = join(OUT_DIR, "sherpany");
// The fuse Node's SEA support looks for; fixed by Node.
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
// Optional native add-ons: a SEA's require reaches built-ins only, so these
// must fail like a missing module (pg then falls back to its JS client).
const STUBBED_MODULES = ["pg-native"];
const PGLITE_ASSETS = ["pglite.wasm", "initdb.wasm", "pglite.data"];

if (!process.version.startsWith("v24.")) {
	throw new Error(
		`build with the pinned Node 24 (npm run build), not ${process.version}`,
	);
}
if (process.platform !== "linux" || process.arch !== "x64") {
	throw new Error(
		`dist/sherpany is a Linux x86-64 executable; this is ${process.platform}-${process.arch}`,
	);
}
rmSync(OUT_DIR, { recursive: true, force: true });
mkdirSync(OUT_DIR);

const started = performance.now();
await build({
	entryPoints: ["src/main.ts"],
	outfile: BUNDLE,
	bundle: true,
	platform: "node",
	format: "cjs",
	target: "node24",
	minify: true,
	keepNames: true,
	legalComments: "none",
	logLevel: "warning",
	define: {
		// CommonJS has no import.meta: main.ts runs because it is the entry,
		// and PGlite's createRequire(import.meta.url) gets the executable's URL.
		"import.meta.main": "true",
		"import.meta.url": "__import_meta_url",
	},
	banner: {
		js: 'var __import_meta_url = require("node:url").pathToFileURL(__filename).href;',
	},
	plugins: [
		{
			name: "stub-optional-modules",
			setup(builder) {
				const filter = new RegExp(`^(${STUBBED_MODULES.join("|")})$`);
				builder.onResolve({ filter }, (args) => ({
					path: args.path,
					namespace: "stub",
				}));
				builder.onLoad({ filter: /.*/, namespace: "stub" }, (args) => ({
					contents: `const e = new Error("Cannot find module '${args.path}'"); e.code = "MODULE_NOT_FOUND"; throw e;`,
					loader: "js",
				}));
			},
		},
	],
});

const pgliteDir = dirname(require.resolve("@electric-sql/pglite"));
const seaConfig = {
	main: BUNDLE,
	output: BLOB,
	disableExperimentalSEAWarning: true,
	useSnapshot: false,
	useCodeCache: true,
	assets: Object.fromEntries(
		PGLITE_ASSETS.map((name) => [
			name,
			relative(process.cwd(), join(pgliteDir, name)),
		]),
	),
};
writeFileSync(
	join(OUT_DIR, "sea.json"),
	`${JSON.stringify(seaConfig, null, 2)}\n`,
);
execFileSync(
	process.execPath,
	["--experimental-sea-config", join(OUT_DIR, "sea.json")],
	{ stdio: "inherit" },
);

copyFileSync(process.execPath, BINARY);
chmodSync(BINARY, 0o755);
stripDebugInfo(BINARY);
execFileSync(
	process.execPath,
	[
		require.resolve("postject/dist/cli.js"),
		BINARY,
		"NODE_SEA_BLOB",
		BLOB,
		"--sentinel-fuse",
		SEA_FUSE,
	],
	// postject's warnings about .note sections on Linux are harmless.
	{ stdio: ["ignore", "ignore", "ignore"] },
);
rmSync(BLOB);

const megabytes = (path) => (statSync(path).size / 1e6).toFixed(1);
console.log(
	`${BINARY}: ${megabytes(BINARY)} MB (bundle ${megabytes(BUNDLE)} MB, node ${process.versions.node}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);

/** Node's symbols are an eighth of the binary and no use in production; drop them when binutils is there. */
function stripDebugInfo(path) {
	try {
		execFileSync("strip", ["--strip-all", path], { stdio: "ignore" });
	} catch {
		console.warn(
			"strip (binutils) not found: dist/sherpany keeps Node's debug symbols",
		);
	}
}
