/**
 * The linux/amd64 image against a real PostgreSQL
 * (test/suites/image-postgres.ts, which the arm64 image passes too).
 * `--version` runs the manifest list's versioned name, which podman
 * resolves to this host's image.
 */
import t from "tap";
import { imageOrSkip } from "../helpers/image.ts";
import { imagePostgresSuite } from "../suites/image-postgres.ts";

// Containers, PGlite's initdb and mmdebstrap on a shared 2-core machine: the
// package's 180 s per file was once nearly used up (94 s) under a full run.
t.setTimeout(360_000);

const image = await imageOrSkip(t);
if (image)
	imagePostgresSuite(t, {
		id: image.id,
		ref: image.versioned,
		env: {},
		serveFlags: [],
		startMs: 60_000,
	});
