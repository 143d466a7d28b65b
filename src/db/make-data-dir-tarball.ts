/**
 * Makes the new data directory build.mjs ships in the executable: PGlite's
 * initdb, run once at build time instead of on every first start, dumped
 * as an uncompressed tar (see data-dir-tarball.ts for how it is unpacked).
 *
 * It holds no schema: the first start migrates it and seeds it exactly as it
 * does a database initdb just made, so its log lines and the seeding of a
 * new database stay the same, and the archive does not change when a
 * migration is added.
 */
import { PGlite } from "@electric-sql/pglite";
import { loadPgliteAssets } from "./pglite-assets.ts";

/** A tar of a new, empty PGlite data directory. */
export async function makeDataDirTarball(): Promise<Uint8Array> {
	const pglite = await PGlite.create(await loadPgliteAssets());
	try {
		// Everything on disk, so that nothing depends on replaying WAL.
		await pglite.exec("checkpoint");
		const dump = await pglite.dumpDataDir("none");
		return new Uint8Array(await dump.arrayBuffer());
	} finally {
		await pglite.close();
	}
}
