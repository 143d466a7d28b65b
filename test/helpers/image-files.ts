/**
 * Reading a built image's contents in tests: its layers saved as tarballs,
 * their file listings, one file's content, and a layer's gzipped size.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGzip } from "node:zlib";
import type { Test } from "tap";
import type { ImageInspection } from "./image.ts";
import { podman, podmanOk } from "./podman.ts";

const run = promisify(execFile);

/** Bytes of `file` gzipped at the default level, as a registry would store the layer. */
export async function gzipSize(file: string): Promise<number> {
	let size = 0;
	await pipeline(
		createReadStream(file),
		createGzip(),
		new Writable({
			write(chunk: Buffer, _encoding, callback) {
				size += chunk.length;
				callback();
			},
		}),
	);
	return size;
}

/** One entry of a layer tarball, as `tar -tv --numeric-owner` lists it. */
export interface FileEntry {
	readonly type: string;
	readonly mode: string;
	readonly owner: string;
	readonly path: string;
}

/** The image saved as a Docker directory: one uncompressed tarball per layer, in order. */
export interface SavedImage {
	readonly layers: string[];
}

/** `podman save --format docker-dir` into a temp dir removed after the tests. */
export async function saveImage(
	t: Test,
	ref: string,
	inspected: ImageInspection,
): Promise<SavedImage> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-image-save-"));
	t.teardown(() => rm(dir, { recursive: true, force: true }));
	await podmanOk(
		[
			"save",
			"--quiet",
			"--format",
			"docker-dir",
			"--output",
			join(dir, "image"),
			ref,
		],
		300_000,
	);
	return {
		layers: inspected.RootFS.Layers.map((digest) =>
			join(dir, "image", digest.replace(/^sha256:/, "")),
		),
	};
}

/** Every entry of the layer tarballs (tar -tv), with numeric owners. */
export async function listFiles(
	layers: readonly string[],
): Promise<FileEntry[]> {
	const entries: FileEntry[] = [];
	for (const layer of layers) {
		const { stdout } = await run("tar", ["--numeric-owner", "-tvf", layer], {
			maxBuffer: 64 * 1024 * 1024,
		});
		for (const line of stdout.trim().split("\n")) {
			// drwxr-xr-x 0/0 0 2025-11-28 00:00 ./path[ -> target]
			const [perms = "", owner = "", , , , ...rest] = line.split(/\s+/);
			const path = rest
				.join(" ")
				.replace(/ -> .*$/, "")
				.replace(/^\.?\//, "");
			entries.push({
				type: perms.slice(0, 1),
				mode: perms.slice(1),
				owner,
				path,
			});
		}
	}
	return entries;
}

/** One file's content, copied out of a created container. */
export async function fileInImage(ref: string, path: string): Promise<string> {
	const name = (await podmanOk(["create", ref])).trim();
	try {
		const dir = await mkdtemp(join(tmpdir(), "sherpany-image-file-"));
		try {
			await podmanOk(["cp", `${name}:/${path}`, join(dir, "file")]);
			return await readFile(join(dir, "file"), "utf8");
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	} finally {
		await podman(["rm", "--force", "--volumes", name]);
	}
}
