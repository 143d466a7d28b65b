/**
 * A ready data directory shipped as a tar archive (PGlite's `dumpDataDir`,
 * made at build time), unpacked straight onto the disk: much faster than
 * PGlite's initdb, and faster than PGlite's own `loadDataDir`, which writes
 * every file through its emulated file system (bench/RESULTS.md). Only the
 * plain ustar entries PGlite writes are read: regular files and directories.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PRIVATE_DIR_MODE, privateMode } from "./data-dir-mode.ts";

/** One file or directory of the archive, its path relative to the data directory. */
export interface TarEntry {
	readonly path: string;
	readonly type: "file" | "directory";
	readonly mode: number;
	readonly data: Uint8Array;
}

const BLOCK = 512;
// PostgreSQL's lock file, in the archive because PGlite dumps a running
// database; a data directory at rest has none.
const SKIPPED = new Set(["postmaster.pid"]);
// Written last: its presence is what says a data directory holds a database
// (config/embedded-state.ts, PGlite), so an unpacking cut short is redone.
const MARKER = "PG_VERSION";

/** The entries of a ustar archive, in order; throws on anything but files and directories. */
export function* readTar(tar: Uint8Array): Generator<TarEntry> {
	let offset = 0;
	while (offset + BLOCK <= tar.length) {
		const header = tar.subarray(offset, offset + BLOCK);
		// Two zero blocks end the archive; one is enough to stop at.
		if (header.every((byte) => byte === 0)) return;
		const name = field(header, 0, 100);
		const prefix = field(header, 345, 155);
		const path = normalise(prefix ? `${prefix}/${name}` : name);
		const size = octal(header, 124, 12);
		const flag = String.fromCharCode(header[156] ?? 0);
		const start = offset + BLOCK;
		if (start + size > tar.length)
			throw new Error(`tar archive ends inside ${path}`);
		offset = start + Math.ceil(size / BLOCK) * BLOCK;
		if (path === "") continue; // the archive's root, the data directory itself
		const mode = octal(header, 100, 8);
		if (flag === "0" || flag === "\0") {
			yield {
				path,
				type: "file",
				mode,
				data: tar.subarray(start, start + size),
			};
		} else if (flag === "5") {
			yield { path, type: "directory", mode, data: new Uint8Array() };
		} else {
			throw new Error(`tar entry ${path} has type ${JSON.stringify(flag)}`);
		}
	}
}

/**
 * Writes the archive's files into `dataDir` (made if missing), the marker
 * file last. Files already there are overwritten. Nothing is written for
 * the group or others, whatever the archive's modes (PGlite's are 0750 and
 * 0600): a data directory is private (data-dir-mode.ts).
 */
export function extractDataDir(tar: Uint8Array, dataDir: string): void {
	let marker: TarEntry | undefined;
	const made = new Set<string>();
	const makeDirectory = (path: string, mode = PRIVATE_DIR_MODE): void => {
		if (made.has(path)) return;
		mkdirSync(path, { recursive: true, mode: privateMode(mode) });
		made.add(path);
	};
	makeDirectory(dataDir);
	for (const entry of readTar(tar)) {
		if (SKIPPED.has(entry.path)) continue;
		if (entry.path === MARKER) {
			marker = entry;
			continue;
		}
		const target = join(dataDir, entry.path);
		if (entry.type === "directory") {
			makeDirectory(target, entry.mode);
		} else {
			makeDirectory(dirname(target));
			writeFileSync(target, entry.data, { mode: privateMode(entry.mode) });
		}
	}
	if (!marker) throw new Error(`the tar archive has no ${MARKER}`);
	writeFileSync(join(dataDir, MARKER), marker.data, {
		mode: privateMode(marker.mode),
	});
}

/** A NUL-terminated string field. */
function field(header: Uint8Array, start: number, length: number): string {
	const bytes = header.subarray(start, start + length);
	const end = bytes.indexOf(0);
	return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** An octal number field (NUL- or space-terminated). */
function octal(header: Uint8Array, start: number, length: number): number {
	const text = field(header, start, length).trim();
	return text === "" ? 0 : Number.parseInt(text, 8);
}

/**
 * A path relative to the archive's root: PGlite writes `/base/1/…`. One
 * that climbs out of it would write outside the data directory.
 */
function normalise(path: string): string {
	const parts = path.split("/").filter((part) => part !== "" && part !== ".");
	if (parts.includes(".."))
		throw new Error(`tar entry ${path} leaves the data directory`);
	return parts.join("/");
}
