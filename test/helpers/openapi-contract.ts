/**
 * Holds a response to the OpenAPI document: its status must be one the
 * document gives for the path and method, each header it marks required
 * must be there, each documented header must match its schema, and the body
 * must be of a documented media type and match its schema (ajv, JSON Schema
 * 2020-12, the dialect of OpenAPI 3.1).
 *
 * @module
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";

type JsonObject = { readonly [key: string]: unknown };

/**
 * The component answers any request may get that no operation lists: from
 * the router (an unknown path or method), the load limit, and Node's HTTP
 * parser before any route runs (the document's `info.description` says so).
 */
const ANY_REQUEST: Readonly<Record<number, string>> = {
	400: "MalformedRequest",
	404: "NotFound",
	405: "MethodNotAllowed",
	408: "RequestTimeout",
	431: "HeadersTooLarge",
	501: "NotImplemented",
	503: "Overloaded",
};
/** The parser's answers, which come before any route, so also for a documented operation. */
const PARSER_STATUSES = new Set([400, 408, 431]);
/** The operation fields of a path item. */
const METHODS = new Set([
	"get",
	"put",
	"post",
	"delete",
	"options",
	"head",
	"patch",
	"trace",
]);

/** What a response must still show once its status and headers passed. */
interface BodyExpectation {
	/** Problems with the whole body (JSON, text, or empty when none is documented). */
	readonly checkBody: (body: string) => string[];
	/** For a stream of lines (NDJSON): problems with one line, checked as it arrives. */
	readonly checkLine?: (line: string) => string[];
}

interface ResponseCheck {
	/** Problems with the status and headers; empty when they keep to the document. */
	readonly problems: string[];
	readonly body: BodyExpectation;
}

export interface OpenApiContract {
	check(
		method: string,
		path: string,
		status: number,
		headers: Headers,
	): ResponseCheck;
}

/**
 * An ajv for the document's schemas, each reached as
 * `openapi.json#<pointer>`. Strict, so a misspelt keyword fails to compile;
 * the document's own fields are declared as keywords that validate nothing,
 * since ajv compiles the document around the schemas it holds.
 */
export function createDocumentAjv(document: JsonObject): Ajv2020 {
	const ajv = new Ajv2020({
		strict: true,
		strictTypes: false,
		allErrors: true,
		// OpenAPI's formats (int32) are annotations, as in JSON Schema 2020-12.
		validateFormats: false,
	});
	ajv.addVocabulary(Object.keys(document));
	ajv.addSchema(document, "openapi.json");
	return ajv;
}

/** Builds the checker for `document`; every schema it uses is compiled once. */
export function createContract(document: JsonObject): OpenApiContract {
	const ajv = createDocumentAjv(document);
	const validators = new Map<string, ValidateFunction>();
	const validatorAt = (pointer: string): ValidateFunction => {
		let validate = validators.get(pointer);
		if (!validate) {
			validate = ajv.compile({ $ref: `openapi.json#${pointer}` });
			validators.set(pointer, validate);
		}
		return validate;
	};
	const problemsOf = (pointer: string, value: unknown, name: string) => {
		const validate = validatorAt(pointer);
		return validate(value)
			? []
			: [ajv.errorsText(validate.errors, { dataVar: name })];
	};
	return {
		check(method, path, status, headers) {
			const found = findResponse(document, method, path, status);
			if (typeof found === "string")
				return { problems: [found], body: NO_BODY_CHECK };
			const [pointer, response] = found;
			return {
				problems: checkHeaders(
					document,
					pointer,
					response,
					headers,
					problemsOf,
				),
				body:
					method === "HEAD"
						? NO_BODY_CHECK
						: expectBody(pointer, response, headers, problemsOf),
			};
		},
	};
}

const NO_BODY_CHECK: BodyExpectation = { checkBody: () => [] };

type ProblemsOf = (pointer: string, value: unknown, name: string) => string[];

/** The response object the document gives for this answer, and its JSON pointer; else why none. */
function findResponse(
	document: JsonObject,
	method: string,
	path: string,
	status: number,
): [string, JsonObject] | string {
	const paths = document.paths as Record<string, JsonObject>;
	const operationName = method.toLowerCase();
	const operation =
		Object.hasOwn(paths, path) && METHODS.has(operationName)
			? (paths[path]?.[operationName] as JsonObject | undefined)
			: undefined;
	const responses = (operation?.responses ?? {}) as Record<string, unknown>;
	const key = [String(status), `${String(status)[0]}XX`, "default"].find(
		(candidate) => Object.hasOwn(responses, candidate),
	);
	if (operation && key !== undefined) {
		const pointer = `/paths/${escapePointer(path)}/${operationName}/responses/${key}`;
		return follow(document, pointer);
	}
	const component = ANY_REQUEST[status];
	if (component && (!operation || PARSER_STATUSES.has(status)))
		return follow(document, `/components/responses/${component}`);
	return operation
		? `${status} is not a documented answer to ${method} ${path}`
		: `${method} ${path} is no documented operation, and ${status} is not an answer any request may get`;
}

/** The object at `pointer`, following `$ref`s to the end, with its own pointer. */
function follow(document: JsonObject, pointer: string): [string, JsonObject] {
	let at = pointer;
	let value = resolvePointer(document, at);
	while (typeof value.$ref === "string") {
		at = value.$ref.replace(/^#/, "");
		value = resolvePointer(document, at);
	}
	return [at, value];
}

function resolvePointer(document: JsonObject, pointer: string): JsonObject {
	let value: unknown = document;
	for (const part of pointer.split("/").slice(1)) {
		const key = part.replaceAll("~1", "/").replaceAll("~0", "~");
		value = (value as JsonObject)[key];
		if (value === undefined) throw new Error(`no ${pointer} in the document`);
	}
	return value as JsonObject;
}

function escapePointer(part: string): string {
	return part.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Required headers present, and every documented header's value matching its schema. */
function checkHeaders(
	document: JsonObject,
	pointer: string,
	response: JsonObject,
	headers: Headers,
	problemsOf: ProblemsOf,
): string[] {
	const problems: string[] = [];
	const documented = (response.headers ?? {}) as Record<string, unknown>;
	for (const name of Object.keys(documented)) {
		const [at, header] = follow(
			document,
			`${pointer}/headers/${escapePointer(name)}`,
		);
		const value = headers.get(name);
		if (value === null) {
			if (header.required === true) problems.push(`header ${name} is missing`);
			continue;
		}
		const schema = header.schema as JsonObject | undefined;
		const typed =
			schema?.type === "integer" && /^\d+$/.test(value) ? Number(value) : value;
		problems.push(...problemsOf(`${at}/schema`, typed, `header ${name}`));
	}
	return problems;
}

/** How the body must look, by the response's Content-Type. */
function expectBody(
	pointer: string,
	response: JsonObject,
	headers: Headers,
	problemsOf: ProblemsOf,
): BodyExpectation {
	const content = response.content as Record<string, JsonObject> | undefined;
	if (!content)
		return {
			checkBody: (body) =>
				body === "" ? [] : ["a body where the document gives none"],
		};
	const contentType = headers.get("content-type") ?? "";
	const mediaType = Object.keys(content).find((key) =>
		sameMediaType(key, contentType),
	);
	if (mediaType === undefined)
		return {
			checkBody: () => [
				`Content-Type "${contentType}" is none of ${Object.keys(content).join(", ")}`,
			],
		};
	const at = `${pointer}/content/${escapePointer(mediaType)}`;
	if (content[mediaType]?.["x-oai-itemSchema"]) {
		const checkLine = (line: string): string[] =>
			parseJson(line, (value) =>
				problemsOf(`${at}/x-oai-itemSchema`, value, "line"),
			);
		return {
			checkLine,
			checkBody: (body) =>
				body === "" || body.endsWith("\n")
					? body.split("\n").slice(0, -1).flatMap(checkLine)
					: ["the last line does not end in a newline"],
		};
	}
	if (mediaType.startsWith("application/json"))
		return {
			checkBody: (body) =>
				parseJson(body, (value) => problemsOf(`${at}/schema`, value, "body")),
		};
	return { checkBody: (body) => problemsOf(`${at}/schema`, body, "body") };
}

function parseJson(
	text: string,
	check: (value: unknown) => string[],
): string[] {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		return [`not JSON: ${text.slice(0, 80)}`];
	}
	return check(value);
}

/** Same type and subtype, and every parameter the document's key names. */
function sameMediaType(documented: string, actual: string): boolean {
	const [type = "", ...parameters] = documented
		.split(";")
		.map((part) => part.trim().toLowerCase());
	const [actualType = "", ...actualParameters] = actual
		.split(";")
		.map((part) => part.trim().toLowerCase());
	return (
		type === actualType &&
		parameters.every((parameter) => actualParameters.includes(parameter))
	);
}
