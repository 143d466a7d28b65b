/**
 * `/users` behind API tokens, in-process on a real PostgreSQL: who gets in,
 * what a refusal looks like, and that no token reaches a log line, a metric
 * or an error.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import t, { type Test } from "tap";
import type { ApiToken } from "../../src/auth/token-file.ts";
import { parseTokenFile } from "../../src/auth/token-file.ts";
import { watchTokenFile } from "../../src/auth/token-watcher.ts";
import { insertSampleUsers } from "../../src/db/users.ts";
import { startApp, type TestApp } from "../helpers/app.ts";
import { logLines } from "../helpers/log-lines.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { openConnection } from "../helpers/raw-http.ts";

const pg = await startPostgres(t);
const url = await createMigratedDatabase(pg, insertSampleUsers);

const sha256 = (text: string): string =>
	createHash("sha256").update(text).digest("hex");
/** What `openssl rand -hex 32` prints: the form the README suggests. */
const ALICE =
	"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const BOB = "bob-Zm9vYmFy.~_+/=";
const TOKEN_FILE = `${sha256(ALICE)} alice\n${sha256(BOB)}\n`;
const REALM = 'Bearer realm="sherpany"';
const INVALID = `${REALM}, error="invalid_token"`;

interface AuthApp extends TestApp {
	readonly lines: Record<string, unknown>[];
}

async function startAuthApp(
	t: Test,
	tokens: () => readonly ApiToken[] = () => parseTokenFile(TOKEN_FILE, "test"),
): Promise<AuthApp> {
	const log = logLines();
	const app = await startApp(t, url, {
		apiTokens: tokens,
		logger: pino({ level: "debug" }, log.destination),
	});
	return Object.assign(app, { lines: log.lines });
}

/** Asserts the one refusal every bad request gets. */
async function assertRefused(
	t: Test,
	response: Response,
	challenge: string,
	what: string,
): Promise<void> {
	t.equal(response.status, 401, `${what}: 401`);
	t.equal(
		response.headers.get("www-authenticate"),
		challenge,
		`${what}: challenge`,
	);
	t.match(response.headers.get("content-type"), /^application\/json/);
	t.same(
		await response.json(),
		{
			error: {
				code: "unauthorized",
				message:
					"this API needs an accepted token: send Authorization: Bearer <token>",
			},
		},
		`${what}: the same body whatever was wrong`,
	);
}

const bearer = (token: string) => ({
	headers: { Authorization: `Bearer ${token}` },
});

t.test("an accepted token reads /users as JSON, NDJSON and HEAD", async (t) => {
	const app = await startAuthApp(t);
	const json = await app.get("/users", bearer(ALICE));
	t.equal(json.status, 200);
	t.equal(((await json.json()) as unknown[]).length, 3);
	const ndjson = await app.get("/users", {
		headers: { Authorization: `Bearer ${BOB}`, Accept: "application/x-ndjson" },
	});
	t.equal(ndjson.status, 200, "a token with every b64token character");
	t.equal((await ndjson.text()).trim().split("\n").length, 3);
	const head = await app.get("/users", { method: "HEAD", ...bearer(ALICE) });
	t.equal(head.status, 200);
});

t.test("the scheme is case-insensitive (RFC 7235)", async (t) => {
	const app = await startAuthApp(t);
	for (const scheme of ["bearer", "BEARER", "bEaReR"]) {
		const response = await app.get("/users", {
			headers: { Authorization: `${scheme} ${ALICE}` },
		});
		t.equal(response.status, 200, scheme);
		await response.body?.cancel();
	}
});

t.test(
	"no token: 401 with a bare challenge, JSON and NDJSON and HEAD",
	async (t) => {
		const app = await startAuthApp(t);
		await assertRefused(t, await app.get("/users"), REALM, "no header");
		await assertRefused(
			t,
			await app.get("/users?limit=1", {
				headers: { Accept: "application/x-ndjson" },
			}),
			REALM,
			"NDJSON",
		);
		const head = await app.get("/users", { method: "HEAD" });
		t.equal(head.status, 401);
		t.equal(head.headers.get("www-authenticate"), REALM);
	},
);

t.test("a Basic scheme is refused as no bearer token at all", async (t) => {
	const app = await startAuthApp(t);
	const basic = Buffer.from(`alice:${ALICE}`).toString("base64");
	await assertRefused(
		t,
		await app.get("/users", { headers: { Authorization: `Basic ${basic}` } }),
		REALM,
		"Basic",
	);
});

t.test("an empty bearer token", async (t) => {
	const app = await startAuthApp(t);
	for (const header of ["Bearer", "Bearer ", "Bearer     "]) {
		await assertRefused(
			t,
			await app.get("/users", { headers: { Authorization: header } }),
			INVALID,
			JSON.stringify(header),
		);
	}
});

t.test("the hash itself sent as the token", async (t) => {
	const app = await startAuthApp(t);
	await assertRefused(
		t,
		await app.get("/users", bearer(sha256(ALICE))),
		INVALID,
		"hash",
	);
	await assertRefused(
		t,
		await app.get("/users", bearer(sha256(ALICE).toUpperCase())),
		INVALID,
		"upper-case hash",
	);
});

t.test(
	"unknown, malformed and near-miss tokens get the same answer",
	async (t) => {
		const app = await startAuthApp(t);
		for (const token of [
			`${ALICE}x`,
			ALICE.slice(0, -1),
			ALICE.toUpperCase(),
			`${ALICE} ${ALICE}`,
			`"${ALICE}"`,
			"not base64 at all!",
			"=abc",
		]) {
			await assertRefused(
				t,
				await app.get("/users", bearer(token)),
				INVALID,
				token,
			);
		}
	},
);

t.test("a token with a trailing newline", async (t) => {
	// The usual slip: `echo "$t" | sha256sum` hashes the newline too, so the
	// file holds the hash of another token.
	const app = await startAuthApp(t, () =>
		parseTokenFile(`${sha256(`${ALICE}\n`)} echoed\n`, "test"),
	);
	await assertRefused(
		t,
		await app.get("/users", bearer(ALICE)),
		INVALID,
		"echo's hash",
	);
	// A newline sent inside the header: fetch strips it, so the bytes go raw.
	const connection = await openConnection(Number(new URL(app.baseUrl).port));
	t.teardown(() => connection.socket.destroy());
	connection.socket.write(
		`GET /users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ALICE}\n\r\n\r\n`,
	);
	await connection.closed;
	const status = Number(connection.received().split(" ")[1]);
	t.equal(status, 400, "Node's parser refuses a bare LF in a header");
	t.notMatch(connection.received(), /"name":"John Doe"/, "no users");
});

t.test(
	"/health, /ready and /metrics need no token; other paths are not guarded",
	async (t) => {
		const app = await startAuthApp(t);
		t.equal((await app.get("/health")).status, 200);
		t.equal((await app.get("/ready")).status, 200);
		t.equal((await app.get("/metrics")).status, 200);
		t.equal((await app.get("/nothing")).status, 404);
	},
);

t.test(
	"tokens reach no log line, metric or error; the request log names the token",
	async (t) => {
		const app = await startAuthApp(t);
		const bad = "wrong-token-should-never-be-logged";
		(await app.get("/users", bearer(ALICE))).body?.cancel();
		(await app.get("/users", bearer(BOB))).body?.cancel();
		const refused = await app.get("/users", bearer(bad));
		const refusal = await refused.text();
		const metrics = await (await app.get("/metrics")).text();
		await t.resolves(
			new Promise<void>((resolve) => {
				const wait = () =>
					app.lines.filter((line) => line.msg === "request").length >= 4
						? resolve()
						: setTimeout(wait, 10);
				wait();
			}),
		);
		const requests = app.lines.filter((line) => line.msg === "request");
		t.match(requests[0], { route: "/users", status: 200, tokenName: "alice" });
		t.match(requests[1], {
			route: "/users",
			status: 200,
			tokenName: `sha256:${sha256(BOB).slice(0, 8)}`,
		});
		t.match(requests[2], { route: "/users", status: 401 });
		t.notOk(
			"tokenName" in (requests[2] ?? {}),
			"a refused request names no token",
		);
		t.match(
			metrics,
			/http_request_duration_seconds_count\{[^}]*route="\/users",status_code="401"\} 1/,
		);
		for (const secret of [ALICE, BOB, bad]) {
			for (const [where, text] of [
				["logs", JSON.stringify(app.lines)],
				["metrics", metrics],
				["error body", refusal],
			] as const) {
				t.notOk(text.includes(secret), `${where} hold no token`);
			}
		}
	},
);

t.test(
	"a CRLF token file read by the watcher lets its tokens in, and rotation applies to the next request",
	async (t) => {
		const root = await mkdtemp(join(tmpdir(), "sherpany-tokens-"));
		t.teardown(() => rm(root, { recursive: true, force: true }));
		const file = join(root, "tokens");
		await writeFile(file, `# tokens\r\n${sha256(ALICE)} alice\r\n\r\n`);
		const watcher = watchTokenFile({
			config: { file, origin: "API_TOKENS_FILE" },
			logger: pino({ level: "silent" }),
			checkIntervalMs: 50,
		});
		t.teardown(() => watcher.close());
		const app = await startAuthApp(t, watcher.tokens);
		const first = await app.get("/users", bearer(ALICE));
		t.equal(first.status, 200);
		await first.body?.cancel();
		await writeFile(file, `${sha256(BOB)} bob\r\n`);
		const deadline = Date.now() + 10_000;
		let status = 200;
		while (status === 200 && Date.now() < deadline) {
			const response = await app.get("/users", bearer(ALICE));
			status = response.status;
			await response.body?.cancel();
			if (status === 200)
				await new Promise((resolve) => setTimeout(resolve, 20));
		}
		t.equal(status, 401, "the removed token is refused");
		const added = await app.get("/users", bearer(BOB));
		t.equal(added.status, 200, "the added one is accepted");
		await added.body?.cancel();
	},
);
