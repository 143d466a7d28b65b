/**
 * The OpenAPI document: valid OpenAPI 3.1 by a maintained validator, every
 * schema in it valid JSON Schema 2020-12, served at `/openapi.json` without
 * a token, and the checker that holds every response of the HTTP suites to
 * it (test/helpers/checked-fetch.ts) able to tell a response that breaks it.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import t from "tap";
import { insertSampleUsers } from "../../src/db/users.ts";
import { OPENAPI_DOCUMENT } from "../../src/http/openapi-document.ts";
import { VERSION } from "../../src/version.ts";
import { startApp } from "../helpers/app.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import {
	createContract,
	createDocumentAjv,
} from "../helpers/openapi-contract.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { openConnection } from "../helpers/raw-http.ts";

// The document does not depend on the server's version: one is enough.
const pg = await startPostgres(t, { everyServer: false });
const url = await createMigratedDatabase(pg, insertSampleUsers);

/** Validates `document` as OpenAPI; the errors, readable, when it is not valid. */
async function validate(document: unknown): Promise<string | undefined> {
	const validator = new Validator();
	const result = await validator.validate(
		structuredClone(document) as Record<string, unknown>,
	);
	if (result.valid && validator.version === "3.1") return undefined;
	return JSON.stringify(result.errors ?? `version ${validator.version}`);
}

/** Every Schema Object in `value`, with where it is. */
function* schemasIn(value: unknown, at = ""): Generator<[string, unknown]> {
	if (value === null || typeof value !== "object") return;
	for (const [name, inner] of Object.entries(value)) {
		const key = name.replaceAll("~", "~0").replaceAll("/", "~1");
		if (
			key === "schema" ||
			key === "x-oai-itemSchema" ||
			at === "/components/schemas"
		)
			yield [`${at}/${key}`, inner];
		else yield* schemasIn(inner, `${at}/${key}`);
	}
}

/** The value under `keys` in `value`. */
function valueAt(value: unknown, keys: readonly string[]): unknown {
	return keys.reduce<unknown>(
		(inner, key) => (inner as Record<string, unknown>)[key],
		value,
	);
}

t.test("the document is valid OpenAPI 3.1", async (t) => {
	t.equal(await validate(OPENAPI_DOCUMENT), undefined, "no errors");
	t.equal(
		(OPENAPI_DOCUMENT.info as { version: string }).version,
		VERSION,
		"the package's version",
	);
});

t.test("the validator rejects a broken document", async (t) => {
	const noDescription = structuredClone(OPENAPI_DOCUMENT) as {
		paths: { "/health": { get: { responses: { 200: object } } } };
	};
	noDescription.paths["/health"].get.responses[200] = { content: {} };
	t.match(await validate(noDescription), /description/);
	const badPath = structuredClone(OPENAPI_DOCUMENT) as {
		paths: Record<string, unknown>;
	};
	badPath.paths.users = badPath.paths["/users"];
	t.match(await validate(badPath), /users|additionalProperties|pattern/);
});

t.test(
	"every schema in it compiles as strict JSON Schema 2020-12",
	async (t) => {
		const ajv = createDocumentAjv(OPENAPI_DOCUMENT);
		let count = 0;
		for (const [at] of schemasIn(OPENAPI_DOCUMENT)) {
			t.doesNotThrow(() => ajv.compile({ $ref: `openapi.json#${at}` }), at);
			count++;
		}
		t.ok(count > 10, `${count} schemas`);
		t.throws(
			() => ajv.compile({ type: "object", propertys: {} }),
			/unknown keyword/,
			"a misspelt keyword fails",
		);
		const stream = valueAt(OPENAPI_DOCUMENT, [
			"paths",
			"/users",
			"get",
			"responses",
			"200",
			"content",
			"application/x-ndjson",
		]) as { schema: { items: unknown }; "x-oai-itemSchema": unknown };
		t.same(
			stream.schema.items,
			stream["x-oai-itemSchema"],
			"the stream as an array, and one line, describe the same user",
		);
	},
);

t.test("GET /openapi.json serves the document, without a token", async (t) => {
	const app = await startApp(t, url, { apiTokens: () => [] });
	t.equal((await app.get("/users")).status, 401, "the API needs a token");
	const response = await app.get("/openapi.json");
	t.equal(response.status, 200);
	t.match(response.headers.get("content-type"), /^application\/json/);
	t.same(await response.json(), OPENAPI_DOCUMENT);
	const head = await app.get("/openapi.json", { method: "HEAD" });
	t.equal(head.status, 200);
	t.equal(await head.text(), "");
	const options = await app.get("/openapi.json", { method: "OPTIONS" });
	t.equal(options.headers.get("allow"), "HEAD, GET");
	t.equal((await app.get("/openapi.json", { method: "POST" })).status, 405);
	const admin = await startApp(t, url, { routes: "admin" });
	t.equal((await admin.get("/openapi.json")).status, 404, "API port only");
});

/** Headers as the app sends them on every response. */
function headersWith(extra: Record<string, string> = {}): Headers {
	return new Headers({
		"X-Request-Id": "abc-123",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control": "no-store",
		"Content-Type": "application/json; charset=utf-8",
		...extra,
	});
}

t.test("the checker tells a response that breaks the document", async (t) => {
	const contract = createContract(OPENAPI_DOCUMENT);
	const users = (headers: Headers, status = 200) =>
		contract.check("GET", "/users", status, headers);
	const good = users(headersWith({ Vary: "Accept" }));
	t.same(good.problems, []);
	t.same(
		good.body.checkBody('[{"id":1,"name":"a","email":"a@b"}]'),
		[],
		"a page",
	);
	t.match(
		good.body.checkBody('[{"id":1,"name":"a","mail":"a@b"}]'),
		[/email/],
		"a renamed field",
	);
	t.match(good.body.checkBody("[{"), [/not JSON/]);
	t.match(users(headersWith()).problems, [/Vary is missing/]);
	t.match(
		users(headersWith({ Vary: "Accept", "X-Content-Type-Options": "sniff" }))
			.problems,
		[/X-Content-Type-Options/],
	);
	t.match(
		users(headersWith({ Vary: "Accept", Link: "</users?after=3>" })).problems,
		[/Link.*pattern/],
	);
	t.match(users(headersWith(), 418).problems, [/418 is not a documented/]);
	t.match(users(headersWith(), 503).problems, [/Retry-After is missing/]);
	t.match(users(headersWith({ "Retry-After": "soon" }), 503).problems, [
		/Retry-After must be integer/,
	]);
	const ndjson = users(
		headersWith({ Vary: "Accept", "Content-Type": "application/x-ndjson" }),
	);
	t.same(ndjson.body.checkLine?.('{"id":1,"name":"a","email":"a@b"}'), []);
	t.match(ndjson.body.checkLine?.('{"id":"1","name":"a","email":"a@b"}'), [
		/id must be integer/,
	]);
	t.match(
		users(
			headersWith({ Vary: "Accept", "Content-Type": "text/html" }),
		).body.checkBody("<p>"),
		[/text\/html.*is none of/],
	);
	const unauthorized = contract.check("GET", "/users", 401, headersWith());
	t.match(unauthorized.problems, [/WWW-Authenticate is missing/]);
	t.match(
		contract
			.check("GET", "/nope", 404, headersWith())
			.body.checkBody('{"error":{"code":"not_found","message":"x"}}'),
		[],
		"an unknown path may get the NotFound answer",
	);
	t.match(contract.check("GET", "/nope", 200, headersWith()).problems, [
		/no documented operation/,
	]);
	t.match(contract.check("POST", "/users", 405, headersWith()).problems, [
		/Allow is missing/,
	]);
	t.match(
		contract.check("HEAD", "/health", 200, headersWith()).body.checkBody(""),
		[],
		"HEAD has no body to check",
	);
	t.match(
		contract
			.check("OPTIONS", "/health", 200, headersWith({ Allow: "HEAD, GET" }))
			.body.checkBody("x"),
		[/a body where the document gives none/],
	);
});

t.test("the HTTP parser's own answers keep to the document", async (t) => {
	// Served as serve serves it, so Node's parser answers before Koa.
	const app = await startApp(t, url, {}, {}, {});
	const port = Number(new URL(app.baseUrl).port);
	const contract = createContract(OPENAPI_DOCUMENT);
	const cases: [string, string, string][] = [
		["an unknown method", "FOO", "FOO /users HTTP/1.1\r\nHost: x\r\n\r\n"],
		[
			"a header without a colon",
			"GET",
			"GET /users HTTP/1.1\r\nHost x\r\n\r\n",
		],
		[
			"headers over 16 KiB",
			"GET",
			`GET /users HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
		],
	];
	for (const [what, method, request] of cases) {
		const connection = await openConnection(port);
		connection.socket.write(request);
		const [response] = await connection.responses(1);
		connection.socket.destroy();
		if (!response) throw new Error(`no answer to ${what}`);
		t.ok(response.status >= 400, `${what}: ${response.status}`);
		const { problems, body } = contract.check(
			method,
			"/users",
			response.status,
			new Headers(response.headers),
		);
		t.same(problems, [], `${what}: status and headers`);
		t.same(body.checkBody(response.body), [], `${what}: body`);
	}
});
