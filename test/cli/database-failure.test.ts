import { connect, createServer } from "node:net";
import { DatabaseError } from "pg";
import t from "tap";
import { onDatabase } from "../../src/cli/database-failure.ts";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import {
	CommandError,
	ConfigError,
	EXIT_FAILURE,
	exitCodeFor,
	hasExitCode,
} from "../../src/exit-codes.ts";

const postgres = loadDatabaseConfig({
	DATABASE_URL: "postgres://app:s3cret@db.example:5433/users?sslmode=require",
});
const embedded = loadDatabaseConfig({}, { dataDir: "memory://" });
const WHERE = "postgres://app@db.example:5433/users (sslmode=require)";

/** What onDatabase throws when `work` throws `error`. */
async function rethrown(error: unknown, database = postgres): Promise<unknown> {
	try {
		await onDatabase(database, () => Promise.reject(error));
	} catch (thrown) {
		return thrown;
	}
	throw new Error("onDatabase did not throw");
}

/** The error a real connection to a port nobody listens on fails with. */
async function refusedConnection(): Promise<Error> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const address = server.address();
	if (address === null || typeof address === "string")
		throw new Error("no port");
	await new Promise((resolve) => server.close(resolve));
	return new Promise((resolve) => {
		connect(address.port, "127.0.0.1").on("error", resolve);
	});
}

/** An error as the PostgreSQL server sends it, in node-postgres' own class. */
function serverError(message: string, code: string): DatabaseError {
	const error = new DatabaseError(message, message.length, "error");
	error.code = code;
	error.severity = "FATAL";
	return error;
}

t.test("the result of work that succeeds is passed through", async (t) => {
	t.equal(await onDatabase(postgres, async () => 42), 42);
});

t.test(
	"an unreachable database says where, why, and what to check",
	async (t) => {
		const cause = await refusedConnection();
		const thrown = await rethrown(cause);
		t.type(thrown, CommandError);
		t.equal(exitCodeFor(thrown), EXIT_FAILURE);
		t.equal(
			(thrown as Error).message,
			`cannot reach the database at ${WHERE} (ECONNREFUSED): check DATABASE_URL or PGHOST, or pass --database-url`,
		);
		t.equal((thrown as Error).cause, cause, "keeps the cause");
		t.notMatch((thrown as Error).message, "s3cret", "no password");
	},
);

t.test("an unavailable server error says so, by its SQLSTATE", async (t) => {
	const thrown = await rethrown(
		serverError("the database system is starting up", "57P03"),
	);
	t.equal(
		(thrown as Error).message,
		`cannot reach the database at ${WHERE} (57P03): check DATABASE_URL or PGHOST, or pass --database-url`,
	);
});

t.test("a TLS failure names the TLS settings", async (t) => {
	const cases: [Error, string][] = [
		[
			Object.assign(new Error("self-signed certificate"), {
				code: "DEPTH_ZERO_SELF_SIGNED_CERT",
			}),
			"self-signed certificate",
		],
		[
			new Error("The server does not support SSL connections"),
			"The server does not support SSL connections",
		],
	];
	for (const [cause, reason] of cases) {
		const thrown = await rethrown(cause);
		t.type(thrown, CommandError, reason);
		t.equal(
			(thrown as Error).message,
			`TLS to the database at ${WHERE} failed (${reason}): check --ssl-mode (PGSSLMODE) and --ssl-root-cert (PGSSLROOTCERT)`,
		);
		t.equal((thrown as Error).cause, cause);
	}
});

t.test("a server's refusal is passed on in its words", async (t) => {
	const cause = serverError(
		'password authentication failed for user "app"',
		"28P01",
	);
	const thrown = await rethrown(cause);
	t.type(thrown, CommandError);
	t.equal(
		(thrown as Error).message,
		`the database at ${WHERE} refused: password authentication failed for user "app"`,
	);
	t.equal((thrown as Error).cause, cause);
});

t.test("an embedded database is named by where it lives", async (t) => {
	const thrown = await rethrown(
		serverError('relation "users" does not exist', "42P01"),
		embedded,
	);
	t.equal(
		(thrown as Error).message,
		'the database at embedded PGlite database in memory refused: relation "users" does not exist',
	);
});

t.test("any other error is rethrown as it is", async (t) => {
	const bug = new TypeError("x is not a function");
	t.equal(await rethrown(bug), bug, "a plain error");
	t.notOk(hasExitCode(bug));
	// Already told: a CommandError or ConfigError whose cause is a network
	// error is not wrapped a second time.
	const told = new ConfigError("bad --port", {
		cause: Object.assign(new Error("refused"), { code: "ECONNREFUSED" }),
	});
	t.equal(await rethrown(told), told, "an error with an exit code");
	t.equal(await rethrown("a string"), "a string", "a thrown non-error");
});
