// @ts-check
// Builds dist/sherpany, the Linux x86-64 executable, and
// dist/sherpany-linux-arm64, the Linux arm64 one: esbuild bundles src/ into
// three CommonJS files (a single-executable's main script must be CommonJS),
// Node's SEA tooling turns them and PGlite's WebAssembly assets into a blob,
// and postject injects the blob into a copy of the pinned Node 24 binary for
// each architecture: the running node for the host's, npm's
// node-linux-<arch> package of the same version for the other.
//
// Both carry the same bundles, PGlite assets and data directory. V8's code
// caches are per architecture and made by running the code, so only the
// host's executable carries them: the other compiles its bundles on start.
//
// The three bundles, each loaded only by the command lines that need it:
// - the launcher (src/binary.ts), the executable's main script: the liveness
//   probe's `check-health` and nothing else;
// - the CLI (src/main.ts: commander and every command's settings), a SEA
//   asset, for any other command line;
// - the deferred bundle (what src/deferred.ts lists: the database, HTTP and
//   logging code), a SEA asset, for serve, migrate and seed.
//
// Run with `npm run build` (the pinned node_modules/.bin/node runs it: the
// executable embeds whichever node runs this script).
import { execFileSync } from "node:child_process";
import {
	chmodSync,
	copyFileSync,
	existsSync,
	mkdirSync,
	readFileSync,
	rmSync,
	statSync,
	writeFileSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { Script } from "node:vm";
import { build } from "esbuild";
import { makeDataDirTarball } from "./src/db/make-data-dir-tarball.ts";
import { DATA_DIR_ASSET, PGLITE_ASSET_FILES } from "./src/db/pglite-assets.ts";

const require = createRequire(import.meta.url);
const OUT_DIR = "dist";
const LAUNCHER = join(OUT_DIR, "sherpany.cjs");
const ENTRY_POINT = resolve("src/binary.ts");
// The bundles kept as SEA assets, by name: dist/<name>.cjs, its code cache
// dist/<name>.cache, and esbuild's account of it dist/<name>.meta.json.
const CLI = "cli";
const DEFERRED = "deferred";
/** @param {string} name */
const bundleFile = (name) => join(OUT_DIR, `${name}.cjs`);
/** @param {string} name */
const cacheFile = (name) => join(OUT_DIR, `${name}.cache`);
/** @param {string} name */
const metaFile = (name) => join(OUT_DIR, `${name}.meta.json`);
const DATA_DIR_TARBALL = join(OUT_DIR, DATA_DIR_ASSET);
/** @typedef {"x64" | "arm64"} Arch */
// The executables, by Node's name for their architecture. dist/sherpany is
// the x86-64 one whatever the host, as the image, the tests and bin/ expect.
/** @type {Record<Arch, string>} */
const BINARIES = {
	x64: join(OUT_DIR, "sherpany"),
	arm64: join(OUT_DIR, "sherpany-linux-arm64"),
};
// Where npm's node-linux-<arch> packages are unpacked, kept across builds
// (npm ci empties node_modules, and npm's own cache keeps the tarball).
const NODE_CACHE = join("node_modules", ".cache", "sherpany-node");
// binutils' strip for each architecture, from an x86-64 host or another.
/** @type {Record<Arch, string>} */
const STRIP = {
	x64: "x86_64-linux-gnu-strip",
	arm64: "aarch64-linux-gnu-strip",
};
// The fuse Node's SEA support looks for; fixed by Node.
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
// Optional native add-ons: a SEA's require reaches built-ins only, so these
// must fail like a missing module (pg then falls back to its JS client).
const STUBBED_MODULES = ["pg-native"];
// Every module that src/deferred.ts imports goes in the deferred bundle:
// --version and usage errors do not pay to compile the database, HTTP and
// logging code. src/deferred.ts is the one list of them.
const DEFERRED_LIST = resolve("src/deferred.ts");
// esbuild's account of the launcher, read by test/binary/bundles.test.ts
// with the two others.
const LAUNCHER_META = metaFile("launcher");
// V8's young generation, small enough that rows and JSON chunks in flight
// die young rather than fill the old generation (bench/RESULTS.md).
const MAX_SEMI_SPACE_MB = 4;
// A bundle kept as an asset is run as Node runs a CommonJS module: inside
// this function. Its code cache is made for exactly this text.
const COMMONJS_WRAPPER = [
	"(function (exports, require, module, __filename, __dirname) { ",
	"\n})",
];
// The asset bundles' stand-in for import() of a Node built-in.
const IMPORT_BUILTIN = "__sherpanyImportBuiltin";

// CommonJS has no import.meta: PGlite's createRequire(import.meta.url)
// gets the executable's URL.
const IMPORT_META_URL_BANNER =
	'var __import_meta_url = require("node:url").pathToFileURL(__filename).href;';

/** @type {import("esbuild").BuildOptions} */
const BUNDLE_OPTIONS = {
	bundle: true,
	platform: "node",
	format: "cjs",
	target: "node24",
	// Identifiers are not minified, so names survive without `keepNames`:
	// that option wraps every function and class, closures made per request
	// included, in a call that redefines its `name` when it is created,
	// which costs CPU on every `/users` request (bench/RESULTS.md).
	minifyWhitespace: true,
	minifySyntax: true,
	legalComments: "none",
	logLevel: "warning",
	define: { "import.meta.url": "__import_meta_url" },
	banner: { js: IMPORT_META_URL_BANNER },
};

/** The bundles kept as assets also define requireBuiltinImports' stand-in for import(). */
const ASSET_BUNDLE_BANNER = {
	js: `${IMPORT_META_URL_BANNER}\nvar ${IMPORT_BUILTIN} = (id) => { const m = require(id); return { ...m, default: m }; };`,
};

/**
 * Optional native add-ons fail like a missing module; pg then uses its JS client.
 * @type {import("esbuild").Plugin}
 */
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
 * In the bundle it is loaded on first use instead, so that no start-up
 * pays for it.
 * @type {import("esbuild").Plugin}
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
 * Makes the dynamic import()s of `filter` in `importer` load the bundle
 * kept as asset `bundle`: each imported module becomes that bundle's
 * exports, or, when `modules` is given, one property of them, which
 * `modules` (file → key) records for the bundle's own entry to define.
 * @param {{ importer: string, filter: RegExp, bundle: string, modules?: Map<string, string> }} options
 * @returns {import("esbuild").Plugin}
 */
function importFromBundle({ importer, filter, bundle, modules }) {
	return {
		name: `import-from-${bundle}`,
		setup(builder) {
			builder.onResolve({ filter }, (args) => {
				if (args.kind !== "dynamic-import" || args.importer !== importer)
					return undefined;
				if (!modules)
					return { path: bundle, namespace: "bundle", pluginData: {} };
				const file = resolve(args.resolveDir, args.path);
				if (!modules.has(file)) modules.set(file, `m${modules.size}`);
				const key = modules.get(file);
				return {
					path: `${bundle}/${key}`,
					namespace: "bundle",
					pluginData: { key },
				};
			});
			builder.onResolve({ filter: /^sherpany:bundles$/ }, () => ({
				path: "loader",
				namespace: "bundle-loader",
			}));
			builder.onLoad({ filter: /.*/, namespace: "bundle-loader" }, () => ({
				resolveDir: process.cwd(),
				loader: "js",
				contents: BUNDLE_LOADER,
			}));
			builder.onLoad(
				{ filter: /.*/, namespace: "bundle" },
				({ pluginData }) => ({
					contents: `module.exports = require("sherpany:bundles").loadBundle(${JSON.stringify(bundle)})${pluginData.key ? `.${pluginData.key}` : ""};`,
					loader: "js",
				}),
			);
		},
	};
}

/**
 * Runs a bundle kept as an asset, a CommonJS file, through public APIs:
 * wrapped the way Node wraps a CommonJS module, compiled by vm.Script from
 * the code cache made at build time, and given a real CommonJS require
 * (createRequire), as a module beside the executable would get.
 */
const BUNDLE_LOADER = `
	import { createRequire } from "node:module";
	import { getAsset } from "node:sea";
	const loaded = new Map();
	export function loadBundle(name) {
		if (!loaded.has(name)) {
			const module = { exports: {} };
			// Compiled from the code cache made at build time (V8
			// rejects a stale one and compiles), and run as Node runs
			// a CommonJS module. It has no import() left (see
			// requireBuiltinImports), which code compiled by vm could
			// only do through an experimental option that warns.
			// node:vm and node:path are required here, not imported
			// at the top: every probe (check-health) loads this file.
			const vm = require("node:vm");
			const { dirname } = require("node:path");
			const script = new vm.Script(
				${JSON.stringify(COMMONJS_WRAPPER[0])} +
					getAsset(name + ".cjs", "utf8") +
					${JSON.stringify(COMMONJS_WRAPPER[1])},
				{ filename: __filename, cachedData: codeCache(name) },
			);
			script.runInThisContext()(
				module.exports,
				createRequire(__filename),
				module,
				__filename,
				dirname(__filename),
			);
			loaded.set(name, module.exports);
		}
		return loaded.get(name);
	}
	// Only the executable for the build host's architecture has code
	// caches (build.mjs): the other compiles without one.
	function codeCache(name) {
		try {
			return new Uint8Array(getAsset(name + ".cache"));
		} catch {
			return undefined;
		}
	}`;

/**
 * PGlite import()s Node built-ins (fs, zlib, node:module…), as main.ts does
 * node:tty. Code compiled by node:vm (the bundles kept as assets, for their
 * code caches) can import() only through an experimental option that prints
 * a warning, so in those bundles each becomes the required module shaped
 * like its namespace. (esbuild's own lowering of import() to require()
 * breaks PGlite, which declares a local `var require` in the same function.)
 * @type {import("esbuild").Plugin}
 */
const requireBuiltinImports = {
	name: "require-builtin-imports",
	setup(builder) {
		builder.onLoad({ filter: /\.([cm]?js|ts)$/ }, async (args) => {
			const source = await readFile(args.path, "utf8");
			if (!source.includes("import(")) return undefined;
			return {
				contents: source.replace(
					// Not `typeof import("…")`, a TypeScript type.
					/(?<!typeof\s+)\bimport\(\s*["']([^"']+)["']\s*\)/g,
					(call, id) =>
						isBuiltin(id)
							? `Promise.resolve(${IMPORT_BUILTIN}(${JSON.stringify(id)}))`
							: call,
				),
				loader: args.path.endsWith(".ts") ? "ts" : "js",
				resolveDir: dirname(args.path),
			};
		});
	},
};

refuseOtherHosts();
rmSync(OUT_DIR, { recursive: true, force: true });
mkdirSync(OUT_DIR);
const started = performance.now();
const deferred = await bundleAll();
refuseImportCalls();
await writeCodeCaches(deferred);
await writeDataDirTarball();
makeExecutables();
rmSync(DATA_DIR_TARBALL);
reportSizes(started);

/** Builds with the pinned Node 24, on Linux x86-64 or arm64, or not at all. */
function refuseOtherHosts() {
	if (!process.version.startsWith("v24.")) {
		throw new Error(
			`build with the pinned Node 24 (npm run build), not ${process.version}`,
		);
	}
	if (process.platform !== "linux" || !(process.arch in BINARIES)) {
		throw new Error(
			`the executables are built on Linux x86-64 or arm64 (${Object.keys(BINARIES).join(", ")}); this is ${process.platform}-${process.arch}`,
		);
	}
}

/**
 * Bundles the launcher, the CLI and the deferred modules, each with
 * esbuild's account of it beside it (test/binary/bundles.test.ts reads
 * them), and returns the deferred modules, file → key.
 * @returns {Promise<Map<string, string>>}
 */
async function bundleAll() {
	/** @type {Map<string, string>} */
	const deferred = new Map();
	const launcher = await bundleLauncher();
	const cli = await bundleCli(deferred);
	if (deferred.size === 0)
		throw new Error(
			`${DEFERRED_LIST} deferred no module: is it still imported?`,
		);
	const deferredBundle = await bundleDeferred(deferred);
	writeFileSync(LAUNCHER_META, JSON.stringify(launcher.metafile));
	writeFileSync(metaFile(CLI), JSON.stringify(cli.metafile));
	writeFileSync(metaFile(DEFERRED), JSON.stringify(deferredBundle.metafile));
	return deferred;
}

/** The launcher, the executable's main script: the probe's path, or the CLI bundle. */
function bundleLauncher() {
	return build({
		...BUNDLE_OPTIONS,
		entryPoints: [ENTRY_POINT],
		outfile: LAUNCHER,
		metafile: true,
		// The probe's path loads no node:url: nothing here uses import.meta.url.
		banner: {},
		define: {},
		plugins: [
			importFromBundle({
				importer: ENTRY_POINT,
				filter: /^\.\/main\.ts$/,
				bundle: CLI,
			}),
		],
	});
}

/**
 * The CLI bundle, which loads what src/deferred.ts imports from the deferred
 * bundle; records those modules in `deferred`, file → key.
 * @param {Map<string, string>} deferred
 */
function bundleCli(deferred) {
	return build({
		...BUNDLE_OPTIONS,
		entryPoints: ["src/main.ts"],
		outfile: bundleFile(CLI),
		metafile: true,
		// src/binary.ts calls main() itself.
		define: { ...BUNDLE_OPTIONS.define, "import.meta.main": "false" },
		banner: ASSET_BUNDLE_BANNER,
		plugins: [
			requireBuiltinImports,
			stubOptionalModules,
			importFromBundle({
				importer: DEFERRED_LIST,
				filter: /\.ts$/,
				bundle: DEFERRED,
				modules: deferred,
			}),
			lazyChildProcess,
		],
	});
}

/**
 * The deferred bundle: each module is a getter that requires it. esbuild
 * then wraps the ES modules it reaches in lazy initialisers, so `migrate`
 * runs the top level of pg, Kysely and the migrations only, not Koa, pino,
 * prom-client and PGlite as well (and loads none of their Node built-ins).
 * @param {Map<string, string>} deferred the modules, file → key
 */
function bundleDeferred(deferred) {
	const getters = [...deferred].map(
		([file, key]) =>
			`get ${key}() { return require(${JSON.stringify(`./${relative(process.cwd(), file)}`)}); },`,
	);
	return build({
		...BUNDLE_OPTIONS,
		metafile: true,
		stdin: {
			contents: `module.exports = {${getters.join("\n")}};`,
			resolveDir: process.cwd(),
			sourcefile: "deferred-entry.js",
			loader: "js",
		},
		outfile: bundleFile(DEFERRED),
		define: { ...BUNDLE_OPTIONS.define, "import.meta.main": "false" },
		banner: ASSET_BUNDLE_BANNER,
		plugins: [stubOptionalModules, requireBuiltinImports],
	});
}

/**
 * Neither the SEA's main script (compiled with a code cache) nor the bundles
 * the loader compiles with vm.Script can run an import().
 */
function refuseImportCalls() {
	for (const file of [LAUNCHER, bundleFile(CLI), bundleFile(DEFERRED)]) {
		if (/\bimport\(/.test(readFileSync(file, "utf8"))) {
			throw new Error(
				`${file} has an import() that cannot run in the executable: extend requireBuiltinImports`,
			);
		}
	}
}

/**
 * The code caches of the CLI and the deferred bundle.
 * @param {Map<string, string>} deferred the deferred modules, file → key
 */
async function writeCodeCaches(deferred) {
	writeFileSync(
		cacheFile(CLI),
		await makeCodeCache(CLI, async ({ main }) => {
			// --version and --help compile main() and commander, which the
			// cache then holds for every command line.
			const io = { stdout: new PassThrough(), stderr: new PassThrough() };
			for (const argv of [["--version"], ["--help"]]) {
				if ((await main(argv, {}, io)) !== 0)
					throw new Error(`warming the CLI's code cache: ${argv} failed`);
			}
		}),
	);
	writeFileSync(
		cacheFile(DEFERRED),
		await makeCodeCache(DEFERRED, (exports) => {
			for (const key of deferred.values()) void exports[key];
		}),
	);
}

/**
 * A new, migrated embedded database, made once here: a first start unpacks
 * it instead of running PGlite's initdb (seconds) and the migrations. It is
 * left uncompressed: most of it is the first WAL segment's zeros, but
 * gunzipping it on every first start would cost about as much as unpacking
 * it (bench/RESULTS.md).
 */
async function writeDataDirTarball() {
	writeFileSync(DATA_DIR_TARBALL, await makeDataDirTarball());
}

/**
 * One executable per architecture. V8 checks a code cache against its own
 * version and flags and rejects a foreign one, so only the host's
 * executable carries the caches: the other's would be read for nothing.
 */
function makeExecutables() {
	const pgliteDir = dirname(require.resolve("@electric-sql/pglite"));
	for (const [arch, binary] of archEntries(BINARIES)) {
		const native = arch === process.arch;
		makeExecutable({
			arch,
			binary,
			node: native ? process.execPath : nodeFor(arch),
			withCodeCaches: native,
			pgliteDir,
		});
	}
}

/**
 * `record`'s entries, typed by architecture.
 * @template T
 * @param {Record<Arch, T>} record
 * @returns {[Arch, T][]}
 */
function archEntries(record) {
	return [
		["x64", record.x64],
		["arm64", record.arm64],
	];
}

/**
 * One line: each executable's and bundle's size, and the build's time.
 * @param {number} started performance.now() at the start of the build
 */
function reportSizes(started) {
	/** @param {string} path */
	const megabytes = (path) => (statSync(path).size / 1e6).toFixed(1);
	console.log(
		`${Object.values(BINARIES)
			.map((binary) => `${binary}: ${megabytes(binary)} MB`)
			.join(
				", ",
			)} (launcher ${megabytes(LAUNCHER)} MB, CLI ${megabytes(bundleFile(CLI))} MB, deferred ${megabytes(bundleFile(DEFERRED))} MB, node ${process.versions.node}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
	);
}

/**
 * Writes the SEA blob for one executable and injects it into a copy of `node`.
 * @param {{ arch: Arch, binary: string, node: string, withCodeCaches: boolean, pgliteDir: string }} options
 */
function makeExecutable({ arch, binary, node, withCodeCaches, pgliteDir }) {
	const blob = `${binary}.blob`;
	const seaJson = `${binary}.sea.json`;
	const bundles = withCodeCaches ? [CLI, DEFERRED] : [];
	const seaConfig = {
		main: LAUNCHER,
		output: blob,
		disableExperimentalSEAWarning: true,
		useSnapshot: false,
		useCodeCache: withCodeCaches,
		// By default V8's semi-spaces grow to 16 MB, and what survives two
		// scavenges (rows and JSON chunks in flight) is promoted, so an NDJSON
		// export would fill the old generation with garbage before a full
		// collection. A --max-semi-space-size in NODE_OPTIONS does not
		// override it (the new space stays 8 MB: bench/RESULTS.md).
		execArgv: [`--max-semi-space-size=${MAX_SEMI_SPACE_MB}`],
		assets: {
			...Object.fromEntries(
				[CLI, DEFERRED].map((name) => [`${name}.cjs`, bundleFile(name)]),
			),
			...Object.fromEntries(
				bundles.map((name) => [`${name}.cache`, cacheFile(name)]),
			),
			[DATA_DIR_ASSET]: DATA_DIR_TARBALL,
			...Object.fromEntries(
				PGLITE_ASSET_FILES.map((name) => [
					name,
					relative(process.cwd(), join(pgliteDir, name)),
				]),
			),
		},
	};
	writeFileSync(seaJson, `${JSON.stringify(seaConfig, null, 2)}\n`);
	// Without a code cache or a snapshot the blob holds no machine code: this
	// node writes it for the other architecture's node of the same version.
	execFileSync(process.execPath, ["--experimental-sea-config", seaJson], {
		stdio: "inherit",
	});
	copyFileSync(node, binary);
	chmodSync(binary, 0o755);
	stripDebugInfo(binary, arch);
	execFileSync(
		process.execPath,
		[
			require.resolve("postject/dist/cli.js"),
			binary,
			"NODE_SEA_BLOB",
			blob,
			"--sentinel-fuse",
			SEA_FUSE,
		],
		// postject's warnings about .note sections on Linux are harmless.
		{ stdio: ["ignore", "ignore", "ignore"] },
	);
	rmSync(blob);
}

/**
 * The node binary of npm's node-linux-<arch> package at the running node's
 * version (the pinned one): `npm pack` fetches it (npm checks its integrity
 * against the registry's and keeps it in its cache), unpacked once under
 * node_modules/.cache. A package with another cpu than the host's cannot
 * be an ordinary dependency: `npm ci` would skip or refuse it.
 * @param {Arch} arch
 */
function nodeFor(arch) {
	const name = `node-linux-${arch}`;
	const dir = resolve(NODE_CACHE, `${name}-${process.versions.node}`);
	const node = join(dir, "package", "bin", "node");
	if (existsSync(node)) return node;
	rmSync(dir, { recursive: true, force: true });
	mkdirSync(dir, { recursive: true });
	const [packed] = JSON.parse(
		execFileSync(
			"npm",
			[
				"pack",
				`${name}@${process.versions.node}`,
				"--json",
				"--pack-destination",
				dir,
			],
			{ encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
		),
	);
	const tarball = join(dir, packed.filename);
	execFileSync("tar", ["-xzf", tarball, "-C", dir, "package/bin/node"]);
	rmSync(tarball);
	return node;
}

/**
 * V8's code cache for a bundle kept as an asset, so that a command does not
 * first compile the bundle, then each function on its first call. The
 * bundle is run here, then `warm` uses its exports (every deferred module's
 * top level, which only defines things; the CLI's --version and --help), so
 * that the cache holds the functions that ran too. The host's executable
 * embeds this very node, so V8 accepts the cache.
 * @param {string} name
 * @param {(exports: any) => unknown} warm
 */
async function makeCodeCache(name, warm) {
	const script = new Script(
		COMMONJS_WRAPPER[0] +
			readFileSync(bundleFile(name), "utf8") +
			COMMONJS_WRAPPER[1],
		{ filename: `${name}.cjs` },
	);
	const module = { exports: {} };
	script.runInThisContext()(
		module.exports,
		require,
		module,
		resolve(bundleFile(name)),
		resolve(OUT_DIR),
	);
	await warm(module.exports);
	return script.createCachedData();
}

/**
 * Node's symbols are an eighth of the binary and no use in production; drop
 * them when binutils for that architecture is there (the host's `strip`
 * reads only its own; Debian's binutils-aarch64-linux-gnu has arm64's).
 * @param {string} path
 * @param {Arch} arch
 */
function stripDebugInfo(path, arch) {
	const strip = arch === process.arch ? "strip" : STRIP[arch];
	try {
		execFileSync(strip, ["--strip-all", path], { stdio: "ignore" });
	} catch {
		console.warn(
			`${strip} (binutils) not found: ${path} keeps Node's debug symbols`,
		);
	}
}
