/**
 * Property-based fuzzing of `/users` (fast-check): random query strings
 * (malformed percent-encoding, huge and negative numbers, repeated
 * parameters, arrays, non-numeric cursors, long values), paths, methods and
 * `Accept` headers. Never a 500, never a stack trace or internal detail in a
 * body, every error a JSON body with a 4xx (or 501 for a method nobody
 * implements), and the table unchanged afterwards.
 */
import { request } from "node:http";
import fc from "fast-check";
import t from "tap";
import { insertSampleUsers, insertSyntheticUsers } from "../../src/db/users.ts";
import { startApp } from "../helpers/app.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);

interface Answer {
	readonly status: number;
	readonly type: string;
	readonly body: string;
}

/** One request with a raw path (kept under the 16 kB header limit, which test/faults/abusive-clients.test.ts covers), method and headers. */
function send(
	baseUrl: string,
	method: string,
	path: string,
	headers: Record<string, string>,
): Promise<Answer> {
	const { hostname, port } = new URL(baseUrl);
	return new Promise((resolve, reject) => {
		const req = request(
			{ hostname, port, method, path, headers },
			(response) => {
				let body = "";
				response.setEncoding("utf8");
				response.on("data", (chunk) => {
					body += chunk;
				});
				response.on("end", () =>
					resolve({
						status: response.statusCode ?? 0,
						type: String(response.headers["content-type"] ?? ""),
						body,
					}),
				);
			},
		);
		req.setTimeout(10_000, () => req.destroy(new Error("no answer in 10 s")));
		req.on("error", reject);
		req.end();
	});
}

/** Visible ASCII, which Node lets through in a request target. */
const visible = fc.string({
	unit: fc
		.integer({ min: 0x21, max: 0x7e })
		.map((code) => String.fromCharCode(code)),
	maxLength: 40,
});
const number = fc.oneof(
	fc.integer().map(String),
	fc.bigInt().map(String),
	fc.double().map(String),
	fc.constantFrom(
		"",
		"-0",
		"1e309",
		"0x10",
		"1_000",
		" 1",
		"NaN",
		"Infinity",
		"١٢",
		"9".repeat(400),
	),
);
const badPercent = fc.constantFrom(
	"%",
	"%G1",
	"%zz",
	"%C3%28",
	"%E0%80%AF",
	"%00",
	"%FF%FE",
	"%%31",
);
const value = fc.oneof(
	number,
	visible,
	badPercent,
	fc.constant("x".repeat(2000)),
);
const name = fc.oneof(
	fc.constantFrom(
		"limit",
		"after",
		"limit[]",
		"after[0]",
		"limit[a]",
		"__proto__",
		"constructor",
	),
	visible,
);
const query = fc
	.array(fc.tuple(name, value), { maxLength: 6 })
	.map((pairs) =>
		pairs
			.map(([key, val]) => `${encodeLoose(key)}=${encodeLoose(val)}`)
			.join("&"),
	);
const path = fc.oneof(
	query.map((q) => `/users?${q}`),
	query.map((q) => `/users/?${q}`),
	fc.constantFrom(
		"/users/1",
		"/users/..",
		"//users",
		"/users%00",
		"/%2e%2e/users",
		"/users;x",
		"/USERS",
	),
	visible.map((v) => `/users/${v}`),
);
const method = fc.constantFrom(
	"GET",
	"GET",
	"GET",
	"POST",
	"PUT",
	"DELETE",
	"PATCH",
	"OPTIONS",
	"TRACE",
	"PROPFIND",
	"PURGE",
);
const accept = fc.oneof(
	fc.constantFrom(
		"application/json",
		"application/x-ndjson",
		"application/x-ndjson;q=0.1, application/json;q=0.9",
		"text/html",
		"*/*",
		"*/*;q=abc",
		"application/*",
		"image/png",
		",,,;;;",
		"",
	),
	visible,
);

/** Leaves printable characters as they are (keeps malformed escapes), escapes the rest. */
function encodeLoose(text: string): string {
	return text.replace(/[^\x21-\x7e]|[#&=]/g, (char) =>
		encodeURIComponent(char),
	);
}

t.test(
	"/users under random input: never a 500, always a JSON 4xx",
	async (t) => {
		const url = await createMigratedDatabase(pg, async (db) => {
			await insertSampleUsers(db);
			await insertSyntheticUsers(db, "fuzz", 1, 50);
		});
		const fingerprint = async () =>
			(
				await pg.query(
					url,
					"SELECT count(*)::int AS n, md5(string_agg(u::text, ',' ORDER BY id)) AS sum FROM users u",
				)
			)[0];
		const before = await fingerprint();
		const app = await startApp(t, url);

		const seen = new Map<number, number>();
		await fc.assert(
			fc.asyncProperty(
				method,
				path,
				accept,
				async (verb, target, acceptHeader) => {
					const answer = await send(app.baseUrl, verb, target, {
						Accept: acceptHeader,
					});
					seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
					const where = `${verb} ${target} (Accept: ${acceptHeader}) → ${answer.status}`;
					if (answer.status >= 500 && answer.status !== 501)
						throw new Error(`${where}: ${answer.body.slice(0, 300)}`);
					if (/\bat .+:\d+:\d+|node_modules|\/src\/|Error:/.test(answer.body))
						throw new Error(`${where}: internal detail in the body`);
					if (answer.status >= 400) {
						if (!answer.type.startsWith("application/json"))
							throw new Error(`${where}: not JSON (${answer.type})`);
						const parsed = JSON.parse(answer.body) as {
							error?: { code?: unknown };
						};
						if (typeof parsed.error?.code !== "string")
							throw new Error(`${where}: no error code`);
					}
				},
			),
			{
				numRuns: 400,
				seed: Number(process.env.SHERPANY_FUZZ_SEED ?? Date.now() % 2 ** 31),
			},
		);
		t.ok(
			seen.has(200) && seen.has(400),
			`varied answers: ${JSON.stringify([...seen])}`,
		);
		t.ok(
			![...seen.keys()].some((status) => status >= 500 && status !== 501),
			"no 5xx but 501",
		);
		t.same(await fingerprint(), before, "the table is unchanged");
	},
);
