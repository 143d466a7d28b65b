/**
 * `bin/sherpany serve` with API_TOKENS_FILE, as an operator runs it: the
 * help names the setting, a bad file stops start-up with exit code 2 and
 * one line, a 100 kB header is refused before the app, and the file can be
 * rotated under a running server.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { checkedFetch } from "../helpers/checked-fetch.ts";
import { hasStackTrace, migrateAndSeed, runCli } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { openConnection } from "../helpers/raw-http.ts";
import { startServe } from "../helpers/serve.ts";

const sha256 = (text: string): string =>
	createHash("sha256").update(text).digest("hex");
const TOKEN =
	"3c1f0e5b7a9d2c4e6f8a0b1c3d5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e";
const NEXT = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

const root = await mkdtemp(join(tmpdir(), "sherpany-serve-tokens-"));
t.teardown(() => rm(root, { recursive: true, force: true }));

t.test("serve --help names the flag and the variable", async (t) => {
	const help = await runCli(["serve", "--help"]);
	t.equal(help.code, 0);
	const text = help.stdout.replace(/\s+/g, " ");
	t.match(text, "--api-tokens-file <path> file of '<hex sha256> [name]' lines");
	t.match(text, "(env: API_TOKENS_FILE, default: none: /users needs no token)");
});

t.test(
	"a bad token file stops start-up with exit code 2 and one line",
	async (t) => {
		const file = join(root, "bad");
		const cases: [string, string][] = [
			[
				"",
				`sherpany: API_TOKENS_FILE: ${file} holds no token hash, so no request could pass:`,
			],
			[
				`${sha256("a")} a\r\nnope\r\n`,
				`sherpany: API_TOKENS_FILE: ${file}, line 2: the first field is not a hexadecimal SHA-256 hash;`,
			],
			[
				`${sha256("a").slice(0, 40)}\n`,
				`sherpany: API_TOKENS_FILE: ${file}, line 1: the hash has 40 hex digits, a SHA-256 hash has 64;`,
			],
		];
		for (const [content, expected] of cases) {
			await writeFile(file, content);
			// No database: the file is checked before any is opened or created.
			const result = await runCli(["serve"], {
				API_TOKENS_FILE: file,
				DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
			});
			t.equal(result.code, 2, JSON.stringify(content));
			t.equal(
				result.stderr.split("\n")[0]?.startsWith(expected),
				true,
				result.stderr,
			);
			t.notOk(hasStackTrace(result.stderr));
		}
		const missing = await runCli(
			["serve", "--api-tokens-file", join(root, "absent")],
			{
				DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
			},
		);
		t.equal(missing.code, 2);
		t.equal(
			missing.stderr,
			`sherpany: --api-tokens-file: ${join(root, "absent")}: cannot read it (ENOENT)\n`,
		);
	},
);

t.test("against PostgreSQL", async (t) => {
	const pg = await startPostgres(t);
	const url = await pg.createDatabase();
	await migrateAndSeed(t, url);
	const file = join(root, "tokens");
	await writeFile(file, `${sha256(TOKEN)} ops\r\n`);
	const serve = await startServe(t, {
		DATABASE_URL: url,
		API_TOKENS_FILE: file,
		LOG_LEVEL: "info",
	});
	const get = (token?: string) =>
		checkedFetch(`${serve.baseUrl}/users`, {
			headers: token ? { Authorization: `Bearer ${token}` } : {},
		});
	t.match(
		serve.lines.join("\n"),
		/"tokens":\["ops"\],"msg":"\/users requires a bearer token: 1 accepted"/,
	);

	t.test("a token opens /users; none gets 401", async (t) => {
		const ok = await get(TOKEN);
		t.equal(ok.status, 200);
		t.equal(((await ok.json()) as unknown[]).length, 3);
		const refused = await get();
		t.equal(refused.status, 401);
		t.equal(refused.headers.get("www-authenticate"), 'Bearer realm="sherpany"');
		t.equal(
			((await refused.json()) as { error: { code: string } }).error.code,
			"unauthorized",
		);
		t.equal(
			(await checkedFetch(`${serve.baseUrl}/health`)).status,
			200,
			"/health stays open",
		);
	});

	t.test(
		"a 100 kB header is answered 431 by Node, before the app",
		async (t) => {
			const connection = await openConnection(serve.port);
			t.teardown(() => connection.socket.destroy());
			connection.socket.write(
				`GET /users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${"a".repeat(100 * 1024)}\r\n\r\n`,
			);
			const [response] = await connection.responses(1);
			t.equal(response?.status, 431);
			t.match(response?.headers["content-type"], /^application\/json/);
			t.match(JSON.parse(response?.body ?? "{}"), { error: { code: String } });
			t.equal((await get(TOKEN)).status, 200, "the server goes on serving");
		},
	);

	t.test(
		"rotation: a removed token is refused, an added one accepted, within seconds",
		async (t) => {
			await writeFile(file, `${sha256(NEXT)} ops-next\n`);
			const started = Date.now();
			let status = 200;
			while (status === 200 && Date.now() - started < 10_000) {
				const response = await get(TOKEN);
				status = response.status;
				await response.body?.cancel();
				if (status === 200)
					await new Promise((resolve) => setTimeout(resolve, 50));
			}
			t.equal(status, 401, "the removed token is refused");
			t.ok(
				Date.now() - started < 5000,
				`within seconds (${Date.now() - started} ms)`,
			);
			t.equal((await get(NEXT)).status, 200, "the added token is accepted");

			await writeFile(file, "garbage\n");
			const deadline = Date.now() + 10_000;
			while (
				!serve.lines.some((line) => line.includes('"level":"error"')) &&
				Date.now() < deadline
			)
				await new Promise((resolve) => setTimeout(resolve, 50));
			const error = serve.lines.find((line) =>
				line.includes('"level":"error"'),
			);
			t.match(
				error,
				/line 1: the first field is not a hexadecimal SHA-256 hash; .*; still accepting the 1 tokens read before/,
			);
			t.equal((await get(NEXT)).status, 200, "the last good set still holds");
		},
	);

	t.test("the request log names the token and holds none", async (t) => {
		const output = `${serve.lines.join("\n")}\n${serve.stderr()}`;
		t.match(output, /"route":"\/users".*"status":200.*"tokenName":"ops"/);
		t.match(output, /"tokenName":"ops-next"/);
		for (const secret of [TOKEN, NEXT])
			t.notOk(output.includes(secret), "no token in the output");
	});
});
