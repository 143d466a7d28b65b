/**
 * Every migration, by name. A static map rather than a folder scan, because
 * the single-executable build has no folder to read. Names sort in the order
 * they apply; add new ones at the end.
 *
 * Migrations are forward-only: a migration has `up` and no `down`, and once
 * released it is never edited, renamed or removed, since databases have
 * already run it. To undo a change, add a new migration that reverses it.
 */
import type { Migration } from "kysely/migration";
import * as createUsers from "./0001_create_users.ts";

export const migrations: Readonly<Record<string, Migration>> = {
	"0001_create_users": createUsers,
};
