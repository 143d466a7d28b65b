/**
 * PGlite's WebAssembly modules and file-system bundle. In the single
 * executable they are SEA assets (see build.mjs); from source they are the
 * package's own files. Passing them explicitly means PGlite never looks for
 * files beside the program.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface PgliteAssets {
	readonly pgliteWasmModule: WebAssembly.Module;
	readonly initdbWasmModule: WebAssembly.Module;
	readonly fsBundle: Blob;
}

/** The files, by the names build.mjs gives them as SEA assets. */
export const PGLITE_ASSET_FILES = [
	"pglite.wasm",
	"initdb.wasm",
	"pglite.data",
] as const;

type AssetName = (typeof PGLITE_ASSET_FILES)[number];

/** `node:sea` where the runtime has it (Node), undefined elsewhere (Deno). */
function seaModule(): typeof import("node:sea") | undefined {
	const sea = process.getBuiltinModule?.("node:sea") as
		| typeof import("node:sea")
		| undefined;
	return sea?.isSea() ? sea : undefined;
}

export async function loadPgliteAssets(): Promise<PgliteAssets> {
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
		read("initdb.wasm"),
		read("pglite.data"),
	]);
	const [pgliteWasmModule, initdbWasmModule] = await Promise.all([
		WebAssembly.compile(pgliteWasm),
		WebAssembly.compile(initdbWasm),
	]);
	return {
		pgliteWasmModule,
		initdbWasmModule,
		fsBundle: new Blob([data]),
	};
}
