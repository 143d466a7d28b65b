/**
 * Imports a users file in one transaction. Every row is checked; a bad row
 * (missing field, too long, duplicate email in the file or in the table,
 * malformed line) is reported by line number and nothing is committed.
 */
import type { Kysely } from "kysely";
import type { Database, NewUser } from "../db/schema.ts";
import { printable } from "./printable.ts";
import type { UserRow } from "./read-users.ts";
import { validateUser } from "./validate-user.ts";

/** Rows sent to the database per statement. */
const IMPORT_BATCH_SIZE = 1000;
/** Bad rows kept for the report; the rest are only counted. */
const MAX_REPORTED_ERRORS = 20;

interface RowError {
	readonly line: number;
	readonly message: string;
}

export interface ImportResult {
	/** Users inserted and committed; 0 when any row was bad. */
	readonly imported: number;
	/** Rows read, good or bad. */
	readonly rows: number;
	/** How many rows were bad; `errors` holds the first of them, by line. */
	readonly errorCount: number;
	readonly errors: readonly RowError[];
}

/** Thrown inside the transaction to roll it back. */
class RejectedImport extends Error {}

/** Imports the rows, reporting progress as rows are read. */
export async function importUsers(
	db: Kysely<Database>,
	rows: AsyncIterable<UserRow>,
	onProgress: (rowsRead: number) => void = () => {},
): Promise<ImportResult> {
	const errors: RowError[] = [];
	let errorCount = 0;
	let rowCount = 0;
	let imported = 0;
	const report = (line: number, message: string): void => {
		errorCount += 1;
		// Clashes with the table are found only when a batch is written, after
		// later rows were checked: keep the lowest lines, not the first found.
		errors.push({ line, message });
		if (errors.length > MAX_REPORTED_ERRORS) {
			errors.sort((a, b) => a.line - b.line);
			errors.pop();
		}
	};
	try {
		await db.transaction().execute(async (trx) => {
			const linesByEmail = new Map<string, number>();
			let batch: { line: number; user: NewUser }[] = [];
			const flush = async (): Promise<void> => {
				// Rows after a bad one are still written, so that clashes with the
				// table are reported too; the rollback undoes them.
				if (batch.length > 0) {
					const inserted = await trx
						.insertInto("users")
						.values(batch.map(({ user }) => user))
						.onConflict((conflict) => conflict.column("email").doNothing())
						.returning("email")
						.execute();
					imported += inserted.length;
					const fresh = new Set(inserted.map((row) => row.email));
					for (const { line, user } of batch) {
						if (!fresh.has(user.email))
							report(
								line,
								`email ${printable(user.email)} already exists in the database`,
							);
					}
				}
				batch = [];
			};
			for await (const row of rows) {
				rowCount += 1;
				onProgress(rowCount);
				if ("error" in row) {
					report(row.line, row.error);
					continue;
				}
				const user = validateUser(row.fields);
				if (typeof user === "string") {
					report(row.line, user);
					continue;
				}
				const firstLine = linesByEmail.get(user.email);
				if (firstLine !== undefined) {
					report(
						row.line,
						`duplicate email ${printable(user.email)} (first on line ${firstLine})`,
					);
					continue;
				}
				linesByEmail.set(user.email, row.line);
				batch.push({ line: row.line, user });
				if (batch.length >= IMPORT_BATCH_SIZE) await flush();
			}
			await flush();
			if (errorCount > 0) throw new RejectedImport();
		});
	} catch (error) {
		if (!(error instanceof RejectedImport)) throw error;
		imported = 0;
	}
	errors.sort((a, b) => a.line - b.line);
	return { imported, rows: rowCount, errorCount, errors };
}
