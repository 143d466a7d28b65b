/**
 * PGlite's WebAssembly modules and file-system bundle, and the ready data
 * directory build.mjs makes. In the single executable they are SEA assets
 * (see build.mjs); from source PGlite's are the package's own files and
 * there is no ready data directory. Passing them explicitly means PGlite
 * never looks for files beside the program.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface PgliteAssets {
	readonly pgliteWasmModule: WebAssembly.Module;
	/** Only when initdb may run: a database that exists, or comes from a tarball, needs none. */
	readonly initdbWasmModule?: WebAssembly.Module;
	readonly fsBundle: Blob;
}

/** The files, by the names build.mjs gives them as SEA assets. */
export const PGLITE_ASSET_FILES = [
	"pglite.wasm",
	"initdb.wasm",
	"pglite.data",
] as const;

/** The SEA asset holding a new data directory (PGlite's `dumpDataDir`, uncompressed tar). */
export const DATA_DIR_ASSET = "pgdata.tar";

type AssetName = (typeof PGLITE_ASSET_FILES)[number];

/** `node:sea` where the runtime has it (Node), undefined elsewhere (Deno). */
function seaModule(): typeof import("node:sea") | undefined {
	const sea = process.getBuiltinModule?.("node:sea") as
		| typeof import("node:sea")
		| undefined;
	return sea?.isSea() ? sea : undefined;
}

/** What PGlite.create needs; initdb's module only when `withInitdb`. */
export async function loadPgliteAssets(
	options: { readonly withInitdb: boolean } = { withInitdb: true },
): Promise<PgliteAssets> {
	const sea = seaModule();
	let read: (name: AssetName) => Promise<ArrayBuffer | Uint8Array>;
	if (sea) {
		// A zero-copy view into the executable.
		read = async (name) => sea.getRawAsset(name);
	} else {
		const packageDir = dirname(
			createRequire(import.meta.url).resolve("@electric-sql/pglite"),
		);
		read = (name) => readFile(join(packageDir, name));
	}
	const [pgliteWasm, initdbWasm, data] = await Promise.all([
		read("pglite.wasm"),
		options.withInitdb ? read("initdb.wasm") : undefined,
		read("pglite.data"),
	]);
	const [pgliteWasmModule, initdbWasmModule] = await Promise.all([
		WebAssembly.compile(pgliteWasm),
		initdbWasm && WebAssembly.compile(initdbWasm),
	]);
	return {
		pgliteWasmModule,
		...(initdbWasmModule ? { initdbWasmModule } : {}),
		fsBundle: new Blob([data]),
	};
}

/**
 * The ready data directory shipped in the executable (a view into it, no
 * copy), or undefined: from source, under Deno, or in a build without it.
 */
export function readShippedDataDir(): Uint8Array | undefined {
	const sea = seaModule();
	if (!sea) return undefined;
	try {
		return new Uint8Array(sea.getRawAsset(DATA_DIR_ASSET));
	} catch {
		// getAsset throws when the executable has no such asset.
		return undefined;
	}
}
