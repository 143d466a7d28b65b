/**
 * The built `dist/sherpany` on the embedded default database
 * (test/suites/binary-embedded.ts, which the arm64 executable passes too).
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import t from "tap";
import {
	NATIVE_TARGET,
	requireFreshBinary,
	sandbox,
} from "../helpers/binary.ts";
import { binaryEmbeddedSuite } from "../suites/binary-embedded.ts";

await requireFreshBinary();

t.test("on the embedded default database", (t) =>
	binaryEmbeddedSuite(t, NATIVE_TARGET),
);

t.test(
	"a socket bound first under the name earlier versions locked by does not keep sherpany out",
	{ skip: process.platform !== "linux" && "abstract sockets are Linux's" },
	async (t) => {
		const box = await sandbox(t);
		const dataDir = join(box.dir, "data");
		await mkdir(dataDir, { mode: 0o700 });
		// Earlier versions bound this abstract socket, named after the
		// directory's real path, and refused to start while it was taken.
		// An abstract name has no owner or mode: any local user can bind it.
		const hash = createHash("sha256")
			.update(dataDir)
			.digest("hex")
			.slice(0, 32);
		const squatter = createServer((socket) => socket.end("1\n"));
		await new Promise<void>((resolve, reject) => {
			squatter.once("error", reject);
			squatter.listen(`\0sherpany-data-dir-${hash}`, resolve);
		});
		t.teardown(() => squatter.close());
		const result = await box.run(["migrate"], { SHERPANY_DATA_DIR: dataDir });
		t.same(
			{ code: result.code, stdout: result.stdout },
			{ code: 0, stdout: "the database is up to date\n" },
			`migrate opens the directory (stderr: ${result.stderr})`,
		);
	},
);
