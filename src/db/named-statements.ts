/**
 * Named (prepared) statements for node-postgres under Kysely. Kysely sends
 * every query unnamed, so PostgreSQL parses and plans the page query again
 * on every request; given a `name`, node-postgres prepares it once per
 * connection and then only binds and executes it. That server-side work
 * shares the machine's cores with the service, so it costs requests/s.
 * src/db/client-queries.ts applies the names to every pooled client.
 */
/** Distinct statements named per process; past this, new texts run unnamed. */
export const MAX_NAMED_STATEMENTS = 64;

const names = new Map<string, string>();

/**
 * The statement name for `text`, or undefined when it should run unnamed:
 * only parameterized selects are named (they are what requests run
 * repeatedly; DDL and writes run once), and only the first
 * {@link MAX_NAMED_STATEMENTS} distinct texts, so dynamic SQL cannot make
 * every connection hold ever more prepared statements.
 */
export function statementName(
	text: string,
	values: readonly unknown[] | undefined,
): string | undefined {
	if (!values || values.length === 0) return undefined;
	// A named text is looked up first: only a new one is tested for `select`.
	let name = names.get(text);
	if (name === undefined) {
		if (!/^select\s/i.test(text) || names.size >= MAX_NAMED_STATEMENTS)
			return undefined;
		name = `sherpany_${names.size + 1}`;
		names.set(text, name);
	}
	return name;
}
