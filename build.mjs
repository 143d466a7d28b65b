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
import { dirname, join, relative, resolve } from "node:path";
import { build } from "esbuild";
import { PGLITE_ASSET_FILES } from "./src/db/pglite-assets.ts";

const require = createRequire(import.meta.url);
const OUT_DIR = "dist";
const LAUNCHER = join(OUT_DIR, "sherpany.cjs");
const DEFERRED_BUNDLE = join(OUT_DIR, "deferred.cjs");
const BLOB = join(OUT_DIR, "sea-prep.blob");
const BINARY = join(OUT_DIR, "sherpany");
// The fuse Node's SEA support looks for; fixed by Node.
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
// Optional native add-ons: a SEA's require reaches built-ins only, so these
// must fail like a missing module (pg then falls back to its JS client).
const STUBBED_MODULES = ["pg-native"];
// Every module that src/deferred.ts imports goes in a second bundle, a SEA
// asset compiled on first use, rather than in the executable's main script
// (the launcher), which holds the CLI and check-health only: the liveness
// probe and --version do not pay to compile the database, HTTP and logging
// code. src/deferred.ts is the one list of them.
const DEFERRED_LIST = resolve("src/deferred.ts");
// esbuild's account of what each bundle holds, read by test/binary/bundles.test.ts.
const LAUNCHER_META = join(OUT_DIR, "launcher.meta.json");
const DEFERRED_META = join(OUT_DIR, "deferred.meta.json");

const BUNDLE_OPTIONS = {
	bundle: true,
	platform: "node",
	format: "cjs",
	target: "node24",
	// Identifiers are not minified, so names survive without `keepNames`:
	// that option wraps every function and class, closures made per request
	// included, in a call that redefines its `name` when it is created, and
	// cost about a third of the CPU per `/users` request (bench/RESULTS.md).
	minifyWhitespace: true,
	minifySyntax: true,
	legalComments: "none",
	logLevel: "warning",
	// CommonJS has no import.meta: PGlite's createRequire(import.meta.url)
	// gets the executable's URL.
	define: { "import.meta.url": "__import_meta_url" },
	banner: {
		js: 'var __import_meta_url = require("node:url").pathToFileURL(__filename).href;',
	},
};

/** Optional native add-ons fail like a missing module; pg then uses its JS client. */
const stubOptionalModules = {
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
};

/**
 * commander imports node:child_process (and with it net and stream) for
 * subcommands run as separate executables, which sherpany has none of.
 * In the launcher it is loaded on first use instead, keeping about 5 ms off
 * every probe's start-up.
 */
const lazyChildProcess = {
	name: "lazy-child-process",
	setup(builder) {
		builder.onResolve({ filter: /^(node:)?child_process$/ }, () => ({
			path: "child_process",
			namespace: "lazy-builtin",
		}));
		builder.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, () => ({
			contents:
				'module.exports = new Proxy({}, { get: (_, key) => require("node:child_process")[key] });',
			loader: "js",
		}));
	},
};

/**
 * In the launcher, each module that src/deferred.ts imports becomes a
 * property of the deferred bundle; `deferred` collects them, by file, with
 * the name of their export in that bundle.
 */
function deferModules(deferred) {
	return {
		name: "defer-modules",
		setup(builder) {
			builder.onResolve({ filter: /\.ts$/ }, (args) => {
				if (args.kind !== "dynamic-import" || args.importer !== DEFERRED_LIST)
					return undefined;
				const file = resolve(args.resolveDir, args.path);
				if (!deferred.has(file)) deferred.set(file, `m${deferred.size}`);
				return { path: deferred.get(file), namespace: "deferred" };
			});
			builder.onResolve({ filter: /^sherpany:deferred$/ }, () => ({
				path: "loader",
				namespace: "deferred",
			}));
			builder.onLoad({ filter: /.*/, namespace: "deferred" }, (args) => {
				if (args.path !== "loader") {
					return {
						contents: `module.exports = require("sherpany:deferred").loadDeferred().${args.path};`,
						loader: "js",
					};
				}
				return {
					resolveDir: process.cwd(),
					loader: "js",
					contents: DEFERRED_LOADER,
				};
			});
		},
	};
}

/**
 * Runs the deferred bundle, a CommonJS file, through public APIs: wrapped
 * the way Node wraps a CommonJS module, compiled by vm.Script, given a real
 * CommonJS require (createRequire) as a module beside the executable would
 * get. USE_MAIN_CONTEXT_DEFAULT_LOADER gives its import() of Node built-ins
 * (PGlite uses them) Node's default loader, as a module's import() gets.
 */
const DEFERRED_LOADER = `
	import { createRequire } from "node:module";
	import { getAsset } from "node:sea";
	import { constants, Script } from "node:vm";
	let deferred;
	export function loadDeferred() {
		if (!deferred) {
			const source = "(function (exports, require, module, __filename, __dirname) {" +
				getAsset("deferred.cjs", "utf8") + "\\n})";
			const wrapper = new Script(source, {
				filename: "deferred.cjs",
				importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
			}).runInThisContext();
			const module = { exports: {} };
			wrapper.call(module.exports, module.exports, createRequire(__filename),
				module, __filename, __dirname);
			deferred = module.exports;
		}
		return deferred;
	}`;

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
const deferred = new Map();
const launcher = await build({
	...BUNDLE_OPTIONS,
	entryPoints: ["src/main.ts"],
	outfile: LAUNCHER,
	metafile: true,
	define: { ...BUNDLE_OPTIONS.define, "import.meta.main": "true" },
	plugins: [stubOptionalModules, deferModules(deferred), lazyChildProcess],
});
if (deferred.size === 0)
	throw new Error(`${DEFERRED_LIST} deferred no module: is it still imported?`);
const deferredBundle = await build({
	...BUNDLE_OPTIONS,
	metafile: true,
	stdin: {
		contents: [...deferred]
			.map(
				([file, key]) =>
					`export * as ${key} from ${JSON.stringify(`./${relative(process.cwd(), file)}`)};`,
			)
			.join("\n"),
		resolveDir: process.cwd(),
		sourcefile: "deferred-entry.ts",
		loader: "ts",
	},
	outfile: DEFERRED_BUNDLE,
	define: { ...BUNDLE_OPTIONS.define, "import.meta.main": "false" },
	plugins: [stubOptionalModules],
});
writeFileSync(LAUNCHER_META, JSON.stringify(launcher.metafile));
writeFileSync(DEFERRED_META, JSON.stringify(deferredBundle.metafile));

const pgliteDir = dirname(require.resolve("@electric-sql/pglite"));
const seaConfig = {
	main: LAUNCHER,
	output: BLOB,
	disableExperimentalSEAWarning: true,
	useSnapshot: false,
	useCodeCache: true,
	// vm's USE_MAIN_CONTEXT_DEFAULT_LOADER (DEFERRED_LOADER) is experimental,
	// and Node says so on stderr in every run that opens a database. Like the
	// SEA's own notice (disableExperimentalSEAWarning), it is for Node's
	// developers, not for an operator reading the command's output.
	execArgv: ["--disable-warning=ExperimentalWarning"],
	assets: {
		"deferred.cjs": DEFERRED_BUNDLE,
		...Object.fromEntries(
			PGLITE_ASSET_FILES.map((name) => [
				name,
				relative(process.cwd(), join(pgliteDir, name)),
			]),
		),
	},
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
	`${BINARY}: ${megabytes(BINARY)} MB (launcher ${megabytes(LAUNCHER)} MB, deferred ${megabytes(DEFERRED_BUNDLE)} MB, node ${process.versions.node}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
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
