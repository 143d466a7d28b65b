/**
 * Parses HCL (Terraform's language) into JSON with `@cdktf/hcl2json`,
 * Terraform's own parser compiled to WebAssembly, offline.
 *
 * Loaded through `require` on purpose: its type declarations pull in the DOM
 * library (`/// <reference lib="dom" />`), which would change the global
 * types the whole project is checked against.
 *
 * @module
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const hcl2json = require("@cdktf/hcl2json") as {
	parse(fileName: string, contents: string): Promise<unknown>;
};

/** Parses one file's text; rejects with the parser's message on a syntax error. */
export function parseHcl(
	fileName: string,
	contents: string,
): Promise<Record<string, unknown>> {
	return hcl2json.parse(fileName, contents) as Promise<Record<string, unknown>>;
}
