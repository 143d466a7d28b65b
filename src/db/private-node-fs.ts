/**
 * PGlite's file system on disk (its NodeFS), writing nothing the group or
 * others can read. PostgreSQL compiled to WebAssembly brings its own libc,
 * with its own umask (0022) that the process's umask does not reach: a
 * file PostgreSQL creates is given its mode by an explicit chmod through
 * PGlite's file system (0644 for pg_internal.init, 0666 for every file
 * initdb writes). So each chmod has the group's and others' bits taken
 * off on its way to the disk, initdb's included (its file system forwards
 * to this one). Files and directories PGlite creates are made with the
 * process's umask, which the embedded database sets to 0077.
 */
import type { PGlite } from "@electric-sql/pglite";
import { NodeFS } from "@electric-sql/pglite/nodefs";
import { privateMode } from "./data-dir-mode.ts";

type EmscriptenOpts = Awaited<ReturnType<NodeFS["init"]>>["emscriptenOpts"];
type Mod = Parameters<NonNullable<EmscriptenOpts["preRun"]>[number]>[0];

export class PrivateNodeFS extends NodeFS {
	override async init(
		pg: PGlite,
		opts: EmscriptenOpts,
	): Promise<{ emscriptenOpts: EmscriptenOpts }> {
		const { emscriptenOpts } = await super.init(pg, opts);
		return {
			emscriptenOpts: {
				...emscriptenOpts,
				preRun: [...(emscriptenOpts.preRun ?? []), maskChmod],
			},
		};
	}
}

/** Wraps the module's FS.chmod, which every chmod of the file systems goes through. */
function maskChmod(mod: Mod): void {
	const fs = mod.FS as unknown as {
		chmod(path: string, mode: number, dontFollow?: boolean): void;
	};
	const chmod = fs.chmod.bind(fs);
	fs.chmod = (path, mode, dontFollow) =>
		chmod(path, privateMode(mode), dontFollow);
}
