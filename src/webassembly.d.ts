/**
 * The part of the WebAssembly API that src/db/pglite-assets.ts uses. Node has
 * it at run time, but @types/node does not declare it and the DOM library
 * would bring in browser globals.
 */
declare namespace WebAssembly {
	// biome-ignore lint/suspicious/noEmptyInterface: an opaque compiled module.
	interface Module {}
	function compile(bytes: ArrayBuffer | ArrayBufferView): Promise<Module>;
}
