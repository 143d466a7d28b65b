/**
 * The modules that pull in the database, HTTP and logging code (kysely, pg,
 * PGlite, koa, pino, prom-client), each loaded on first use. This file is
 * the one list of them: main.ts reaches them only through it, and build.mjs
 * moves every module imported here out of the binary's launcher bundle into
 * a second bundle compiled on first use, so that `check-health` (the liveness
 * probe of every pod) and `--version` never pay to load them.
 */

/** `sherpany serve`: koa, the database and the logger. */
export const loadServe = () => import("./commands/serve.ts");

/** `sherpany migrate`: kysely's Migrator and the database. */
export const loadMigrate = () => import("./commands/migrate.ts");

/** `sherpany seed`: the database and the file readers. */
export const loadSeed = () => import("./commands/seed.ts");

/** pino, for `serve`'s logger. */
export const loadLogger = () => import("./logger.ts");
