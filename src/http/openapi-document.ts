/**
 * The OpenAPI 3.1 description of every path on the API and admin ports,
 * served at `GET /openapi.json`. The tests validate it with an OpenAPI
 * validator and hold every response they receive to it, so a change to a
 * route that it does not describe fails them. The limits and retry delays
 * come from the code that enforces them.
 */
import { VERSION } from "../version.ts";
import {
	OVERLOADED_RETRY_AFTER_SECONDS,
	RETRY_AFTER_SECONDS,
} from "./error-responses.ts";
import { CACHE_CONTROL } from "./security-headers.ts";
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, MAX_USER_ID } from "./users.ts";

/** A JSON value; the document is one, so it can be served as it is. */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const ref = (path: string): JsonObject => ({ $ref: `#/components/${path}` });

/** The headers every response carries (src/http/observe.ts, security-headers.ts). */
const COMMON_HEADERS: JsonObject = {
	"X-Request-Id": ref("headers/X-Request-Id"),
	"X-Content-Type-Options": ref("headers/X-Content-Type-Options"),
	"Cache-Control": ref("headers/Cache-Control"),
};

/** A JSON error response whose `error.code` is one of `codes`. */
function errorResponse(
	description: string,
	codes: readonly string[],
	headers: JsonObject = {},
): JsonObject {
	return {
		description,
		headers: { ...COMMON_HEADERS, ...headers },
		content: {
			"application/json": {
				schema: {
					allOf: [ref("schemas/Error")],
					properties: {
						error: { properties: { code: { enum: [...codes] } } },
					},
				},
			},
		},
	};
}

/** `Retry-After`: always sent with the `503`s of a load limit and of the database. */
function retryAfter(required: boolean): JsonObject {
	return {
		description: `Seconds to wait before retrying: ${RETRY_AFTER_SECONDS} while the database is unavailable, ${OVERLOADED_RETRY_AFTER_SECONDS} past a load limit.`,
		required,
		schema: { type: "integer", minimum: 0 },
	};
}

/** Answers that several operations share, from `components.responses`. */
const UNAVAILABLE = ref("responses/Unavailable");
const OVERLOADED = ref("responses/Overloaded");
const INTERNAL = ref("responses/Internal");
const NOT_ON_THIS_PORT = ref("responses/NotOnThisPort");

/**
 * The operations of a path: `GET` as given, `HEAD` with the same statuses and
 * headers and no body, and `OPTIONS`, which the router answers with `Allow`.
 * A shared answer keeps its reference under `HEAD`, content included: a
 * response to `HEAD` never has a body (RFC 9110 §9.3.2).
 */
function readOnlyPath(get: JsonObject, extra: JsonObject = {}): JsonObject {
	const responses = get.responses as { [status: string]: JsonObject };
	const headResponses = Object.fromEntries(
		Object.entries(responses).map(([status, response]) => {
			const headers = Object.entries(response).filter(
				([key]) => key !== "content",
			);
			return [status, Object.fromEntries(headers)];
		}),
	);
	return {
		...extra,
		parameters: [ref("parameters/X-Request-Id")],
		get,
		head: {
			...get,
			operationId: `${String(get.operationId)}Head`,
			summary: `${String(get.summary)} (headers only)`,
			responses: headResponses,
		},
		options: {
			operationId: `${String(get.operationId)}Options`,
			summary: "The methods this path allows",
			tags: get.tags ?? [],
			security: [{}],
			responses: {
				"200": {
					description: "No body; `Allow` lists the methods.",
					headers: { ...COMMON_HEADERS, Allow: ref("headers/Allow") },
				},
				...(responses["404"] ? { "404": NOT_ON_THIS_PORT } : {}),
				...(responses["503"] ? { "503": OVERLOADED } : {}),
			},
		},
	};
}

/** The servers of the admin paths: the admin port when there is one, else the API port. */
const ADMIN_SERVERS: Json[] = [
	{
		url: "http://{host}:{adminPort}",
		description:
			"The admin port, when `ADMIN_PORT` is set: `/metrics`, `/health` and `/ready` only.",
		variables: {
			host: { default: "localhost" },
			adminPort: { default: "9090" },
		},
	},
	{ url: "/", description: "The API port, when no admin port is set." },
];

const USERS = readOnlyPath({
	operationId: "listUsers",
	tags: ["users"],
	summary: "List users by id, a page at a time, or export them all as NDJSON",
	description:
		"Users ordered by `id`. The JSON answer is one page (keyset pagination: `limit` and `after`), with a `Link` header to the next page while there is one. A client whose `Accept` prefers `application/x-ndjson` to `application/json` gets every user instead, one JSON object per line, streamed in batches; any other `Accept` gets JSON (never `406`). Needs a bearer token when the server has `API_TOKENS_FILE` set.",
	security: [{ bearerToken: [] }, {}],
	parameters: [
		{
			name: "limit",
			in: "query",
			description:
				"Users on the page. Given at most once; ignored by the NDJSON export.",
			schema: {
				type: "integer",
				minimum: 1,
				maximum: MAX_PAGE_LIMIT,
				default: DEFAULT_PAGE_LIMIT,
			},
		},
		{
			name: "after",
			in: "query",
			description:
				"The page starts after this id (0: from the first user). Given at most once; ignored by the NDJSON export.",
			schema: {
				type: "integer",
				minimum: 0,
				maximum: MAX_USER_ID,
				default: 0,
			},
		},
	],
	responses: {
		"200": {
			description: "A page of users, or, as NDJSON, every user.",
			headers: {
				...COMMON_HEADERS,
				Vary: ref("headers/Vary"),
				Link: ref("headers/Link"),
			},
			content: {
				"application/json": {
					schema: { type: "array", items: ref("schemas/User") },
				},
				"application/x-ndjson": {
					schema: {
						description:
							"One user per line, each line a JSON object ending in a newline, by id: described as if the stream were an array (OpenAPI's sequential JSON), and one line by `x-oai-itemSchema`.",
						type: "array",
						items: ref("schemas/User"),
					},
					"x-oai-itemSchema": ref("schemas/User"),
				},
			},
		},
		"400": ref("responses/BadRequest"),
		"401": ref("responses/Unauthorized"),
		"404": NOT_ON_THIS_PORT,
		"500": INTERNAL,
		"503": UNAVAILABLE,
	},
});

const HEALTH = readOnlyPath(
	{
		operationId: "checkLiveness",
		tags: ["probes"],
		summary: "Liveness: the process is running",
		description:
			"Never touches the database, and is never shed under load, so a database outage or a flood does not get the process restarted.",
		security: [{}],
		responses: {
			"200": {
				description: "The process is running.",
				headers: COMMON_HEADERS,
				content: {
					"application/json": { schema: ref("schemas/Health") },
				},
			},
		},
	},
	{ servers: ADMIN_SERVERS },
);

const READY = readOnlyPath(
	{
		operationId: "checkReadiness",
		tags: ["probes"],
		summary: "Readiness: the database answers and the schema is up to date",
		description:
			"`503` as soon as shutdown begins, when the database does not answer within `READY_TIMEOUT_MS`, or while a migration is pending. A read replica's state is reported under `checks.replica` and never makes it fail. Concurrent requests share one check.",
		security: [{}],
		responses: {
			"200": {
				description: "Ready to serve.",
				headers: COMMON_HEADERS,
				content: {
					"application/json": {
						schema: {
							allOf: [ref("schemas/ReadinessReport")],
							properties: { status: { const: "ready" } },
						},
					},
				},
			},
			"500": INTERNAL,
			"503": {
				description:
					"Not ready: the report names the failing check. On the API port, also the `overloaded` error of a load limit (with `Retry-After`).",
				headers: { ...COMMON_HEADERS, "Retry-After": retryAfter(false) },
				content: {
					"application/json": {
						schema: {
							oneOf: [
								{
									allOf: [ref("schemas/ReadinessReport")],
									properties: { status: { const: "not ready" } },
								},
								ref("schemas/Error"),
							],
						},
					},
				},
			},
		},
	},
	{ servers: ADMIN_SERVERS },
);

const METRICS = readOnlyPath(
	{
		operationId: "scrapeMetrics",
		tags: ["metrics"],
		summary: "Prometheus metrics",
		description:
			"The Prometheus text exposition format. On the admin port when `ADMIN_PORT` is set (and then `404` on the API port), else on the API port.",
		security: [{}],
		responses: {
			"200": {
				description: "Every metric of this process.",
				headers: COMMON_HEADERS,
				content: {
					"text/plain; version=0.0.4": { schema: { type: "string" } },
				},
			},
			"404": NOT_ON_THIS_PORT,
			"500": INTERNAL,
			"503": OVERLOADED,
		},
	},
	{ servers: ADMIN_SERVERS },
);

const OPENAPI = readOnlyPath({
	operationId: "describeApi",
	tags: ["meta"],
	summary: "This document",
	description:
		"Open even when `/users` needs a token: it holds no data, and a client reads it to learn how to authenticate.",
	security: [{}],
	responses: {
		"200": {
			description: "The OpenAPI 3.1 description of this API.",
			headers: COMMON_HEADERS,
			content: {
				"application/json": {
					schema: {
						type: "object",
						required: ["openapi", "info", "paths"],
						properties: {
							openapi: { type: "string", pattern: "^3\\.1\\." },
							info: { type: "object" },
							paths: { type: "object" },
						},
					},
				},
			},
		},
		"404": NOT_ON_THIS_PORT,
		"500": INTERNAL,
		"503": OVERLOADED,
	},
});

const SCHEMAS: JsonObject = {
	User: {
		type: "object",
		required: ["id", "name", "email"],
		additionalProperties: false,
		properties: {
			id: { type: "integer", format: "int32", minimum: 1 },
			name: { type: "string", maxLength: 100 },
			email: { type: "string", maxLength: 100 },
		},
	},
	Health: {
		type: "object",
		required: ["status"],
		additionalProperties: false,
		properties: { status: { const: "healthy" } },
	},
	ReadinessReport: {
		type: "object",
		required: ["status", "checks"],
		additionalProperties: false,
		properties: {
			status: { enum: ["ready", "not ready"] },
			checks: {
				description:
					'Each check and its result: `"ok"`, or what failed. `database`, `schema` and `replica` (with a read replica), or `shutdown` alone once shutdown has begun.',
				type: "object",
				propertyNames: { enum: ["database", "schema", "replica", "shutdown"] },
				additionalProperties: { type: "string" },
				minProperties: 1,
			},
		},
	},
	Error: {
		type: "object",
		required: ["error"],
		additionalProperties: false,
		properties: {
			error: {
				type: "object",
				required: ["code", "message"],
				additionalProperties: false,
				properties: {
					code: {
						description: "Stable, for programs to act on.",
						enum: [
							"invalid_parameter",
							"bad_request",
							"unauthorized",
							"not_found",
							"method_not_allowed",
							"request_timeout",
							"request_header_fields_too_large",
							"not_implemented",
							"database_unavailable",
							"schema_not_ready",
							"overloaded",
							"internal",
						],
					},
					message: {
						description: "For people; a parameter's error names it.",
						type: "string",
					},
				},
			},
		},
	},
};

const HEADERS: JsonObject = {
	"X-Request-Id": {
		description:
			"The request's id, as in the request log: the client's `X-Request-Id` if it is short and plain, else a generated UUID.",
		required: true,
		schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
	},
	"X-Content-Type-Options": {
		description: "No MIME sniffing.",
		required: true,
		schema: { const: "nosniff" },
	},
	"Cache-Control": {
		description: "Every answer is live data: no cache may keep it.",
		required: true,
		schema: { const: CACHE_CONTROL },
	},
	Link: {
		description:
			'The next page (RFC 8288), while there is one: `</users?limit=…&after=…>; rel="next"`.',
		schema: {
			type: "string",
			pattern: '^</users\\?limit=[0-9]+&after=[0-9]+>; rel="next"$',
		},
	},
	Vary: {
		description: "The answer depends on `Accept` (JSON or NDJSON).",
		required: true,
		schema: { type: "string", pattern: "(^|, *)Accept(,|$)" },
	},
	"WWW-Authenticate": {
		description:
			'The Bearer challenge (RFC 6750): `Bearer realm="sherpany"`, with `error="invalid_token"` when the request carried a bearer token that was refused.',
		required: true,
		schema: {
			type: "string",
			pattern: '^Bearer realm="sherpany"(, error="invalid_token")?$',
		},
	},
	Allow: {
		description: "The methods the path allows.",
		required: true,
		schema: { type: "string", pattern: "^[A-Z]+(, [A-Z]+)*$" },
	},
};

const RESPONSES: JsonObject = {
	BadRequest: errorResponse(
		"A query parameter is out of range, not a whole number, or given twice (`invalid_parameter`, and the message names it), or the request is malformed (`bad_request`).",
		["invalid_parameter", "bad_request"],
	),
	Unauthorized: errorResponse(
		"No accepted bearer token: the same answer whatever was wrong.",
		["unauthorized"],
		{ "WWW-Authenticate": ref("headers/WWW-Authenticate") },
	),
	NotOnThisPort: errorResponse(
		"This path is not served on this port: `/users` and `/openapi.json` are on the API port only, and `/metrics` on the admin port when there is one.",
		["not_found"],
	),
	Internal: errorResponse(
		"An unexpected failure; the body holds no detail (it goes to the log).",
		["internal"],
	),
	Unavailable: errorResponse(
		`The database is unavailable or its schema is not migrated yet (\`Retry-After: ${RETRY_AFTER_SECONDS}\`), or a load limit turned the request away unworked (\`overloaded\`, \`Retry-After: ${OVERLOADED_RETRY_AFTER_SECONDS}\`).`,
		["database_unavailable", "schema_not_ready", "overloaded"],
		{ "Retry-After": retryAfter(true) },
	),
	Overloaded: errorResponse(
		`Too many requests in flight: turned away unworked; retry after \`Retry-After\` (${OVERLOADED_RETRY_AFTER_SECONDS} s).`,
		["overloaded"],
		{ "Retry-After": retryAfter(true) },
	),
	NotFound: errorResponse("No such path (any method).", ["not_found"]),
	MethodNotAllowed: errorResponse(
		"A method the router knows (`POST`, `PUT`, `PATCH`, `DELETE`) on a path that does not allow it.",
		["method_not_allowed"],
		{ Allow: ref("headers/Allow") },
	),
	NotImplemented: errorResponse(
		"A method no route implements (`PROPFIND`, `FOO`), on any path.",
		["not_implemented"],
	),
	MalformedRequest: errorResponse(
		"The HTTP parser could not read the request; the connection is closed.",
		["bad_request"],
	),
	RequestTimeout: errorResponse(
		"The request did not arrive in time; the connection is closed.",
		["request_timeout"],
	),
	HeadersTooLarge: errorResponse(
		"The request line and headers are over 16 KiB; the connection is closed.",
		["request_header_fields_too_large"],
	),
};

/** The document, as served at `/openapi.json`. */
export const OPENAPI_DOCUMENT: JsonObject = {
	openapi: "3.1.1",
	info: {
		title: "sherpany",
		version: VERSION,
		summary: "A small users service on PostgreSQL.",
		description:
			'Every response carries `X-Request-Id`, `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`. Every error is JSON, `{"error":{"code","message"}}`. Besides the answers each operation lists, any request may get: `404 NotFound` for an unknown path, `405 MethodNotAllowed` for a known method the path does not allow, `501 NotImplemented` for a method no route implements, `503 Overloaded` on the API port past its load limit, and, from the HTTP parser before any route runs, `400 MalformedRequest`, `408 RequestTimeout` and `431 HeadersTooLarge` (see `components.responses`).',
		license: { name: "MIT", identifier: "MIT" },
	},
	servers: [{ url: "/", description: "The API port." }],
	tags: [
		{ name: "users", description: "The users." },
		{ name: "probes", description: "Liveness and readiness, on both ports." },
		{ name: "metrics", description: "Prometheus metrics." },
		{ name: "meta", description: "This description." },
	],
	paths: {
		"/users": USERS,
		"/health": HEALTH,
		"/ready": READY,
		"/metrics": METRICS,
		"/openapi.json": OPENAPI,
	},
	components: {
		schemas: SCHEMAS,
		responses: RESPONSES,
		headers: HEADERS,
		parameters: {
			"X-Request-Id": {
				name: "X-Request-Id",
				in: "header",
				description:
					"An id for this request, echoed in the response and the request log if it matches the pattern; otherwise a UUID is generated.",
				schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
			},
		},
		securitySchemes: {
			bearerToken: {
				type: "http",
				scheme: "bearer",
				description:
					"A token whose SHA-256 is in the server's `API_TOKENS_FILE`; only when that is set.",
			},
		},
	},
};
