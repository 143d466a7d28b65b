/**
 * Makes the new data directory build.mjs ships in the executable: PGlite's
 * initdb and the program's migrations, run once at build time instead of on
 * every first start (initdb takes seconds; Kysely's Migrator introspects the
 * catalog several times), dumped as an uncompressed tar (see
 * data-dir-tarball.ts for how it is unpacked).
 *
 * The template databases are left out (see below); nothing else is in it
 * beyond what initdb and the migrations make. A first start seeds it as it
 * seeds a database that initdb has just made (prepare-embedded.ts counts the
 * migrations it came with as applied, so the log lines stay the same);
 * `seed` treats it as any other database.
 */
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PGliteDialect } from "kysely";
import { createMigrator } from "./migrator.ts";
import { loadPgliteAssets } from "./pglite-assets.ts";

/** A tar of a new, migrated PGlite data directory. */
export async function makeDataDirTarball(): Promise<Uint8Array> {
	const pglite = await PGlite.create(await loadPgliteAssets());
	try {
		const { error } = await createMigrator(
			new Kysely({ dialect: new PGliteDialect({ pglite }) }),
		).migrateToLatest();
		if (error) throw error;
		// The template databases are for CREATE DATABASE, which sherpany
		// never runs on its one embedded database ("postgres", PGlite's).
		// They are 600 of the directory's 1,000 files, and creating files is
		// most of what unpacking it costs.
		await pglite.exec(`
			alter database template0 is_template false;
			alter database template1 is_template false;
		`);
		await pglite.exec("drop database template0");
		await pglite.exec("drop database template1");
		// Everything on disk, so that nothing depends on replaying WAL.
		await pglite.exec("checkpoint");
		const dump = await pglite.dumpDataDir("none");
		return new Uint8Array(await dump.arrayBuffer());
	} finally {
		await pglite.close();
	}
}
