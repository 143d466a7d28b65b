/**
 * The original challenge's init.sql schema. `if not exists` lets a database
 * that init.sql already created (rows included) be adopted unchanged.
 */
import type { Kysely } from "kysely";

/** @public Read by Kysely's Migrator through migrations/index.ts's map. */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not depend on today's schema types.
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable("users")
		.ifNotExists()
		.addColumn("id", "serial", (column) => column.primaryKey())
		.addColumn("name", "varchar(100)", (column) => column.notNull())
		.addColumn("email", "varchar(100)", (column) => column.notNull().unique())
		.execute();
}
