/**
 * `fetch` that holds every response to the served OpenAPI document
 * (src/http/openapi-document.ts): a status, header or body it does not
 * describe fails the request with an error that says what differs. A body
 * in one piece (JSON, text) is read and checked before the response is
 * handed over; an NDJSON stream's first lines are checked as the test reads
 * them, so a test that holds an export open still holds it, and a line that
 * breaks the document fails the read.
 *
 * @module
 */
import { OPENAPI_DOCUMENT } from "../../src/http/openapi-document.ts";
import { createContract, type OpenApiContract } from "./openapi-contract.ts";

let contract: OpenApiContract | undefined;

/** A response that the document does not describe. */
class ContractError extends Error {
	override name = "ContractError";
}

/** `fetch(input, init)`, failing on a response that breaks the OpenAPI document. */
export async function checkedFetch(
	input: string | URL,
	init?: RequestInit,
): Promise<Response> {
	const response = await fetch(input, init);
	const method = (init?.method ?? "GET").toUpperCase();
	const path = new URL(input).pathname;
	contract ??= createContract(OPENAPI_DOCUMENT);
	const { problems, body } = contract.check(
		method,
		path,
		response.status,
		response.headers,
	);
	const fail = (found: string[]) =>
		new ContractError(
			`${method} ${path} answered ${response.status}, which /openapi.json does not describe: ${found.join("; ")}`,
		);
	if (problems.length > 0) {
		await response.body?.cancel();
		throw fail(problems);
	}
	if (response.body === null) return response;
	const rebuilt = {
		status: response.status,
		statusText: response.statusText,
		headers: response.headers,
	};
	if (body.checkLine)
		return new Response(
			response.body.pipeThrough(checkLines(body.checkLine, fail)),
			rebuilt,
		);
	const text = await response.text();
	const bodyProblems = body.checkBody(text);
	if (bodyProblems.length > 0) throw fail(bodyProblems);
	return new Response(text, rebuilt);
}

/**
 * Lines of an NDJSON stream checked; the rest pass unparsed. Every line has
 * the same shape, and parsing each of a 150,000-user export costs a test
 * that reads it during a shutdown's drain deadline more than it proves.
 */
const CHECKED_LINES = 1000;

/** Passes the bytes on unchanged, checking the first complete lines as they go by. */
function checkLines(
	checkLine: (line: string) => string[],
	fail: (problems: string[]) => Error,
): TransformStream<Uint8Array, Uint8Array> {
	const decoder = new TextDecoder();
	let partial = "";
	let checked = 0;
	return new TransformStream({
		transform(chunk, controller) {
			if (checked < CHECKED_LINES) {
				const text = partial + decoder.decode(chunk, { stream: true });
				const lines = text.split("\n");
				partial = lines.pop() ?? "";
				for (const line of lines.slice(0, CHECKED_LINES - checked)) {
					checked++;
					const problems = checkLine(line);
					if (problems.length > 0) {
						// The first bad line says enough; the rest are likely the same.
						controller.error(fail([`line ${checked}: ${problems.join("; ")}`]));
						return;
					}
				}
			} else partial = "";
			controller.enqueue(chunk);
		},
		flush(controller) {
			if (checked < CHECKED_LINES && partial + decoder.decode() !== "")
				controller.error(fail(["the last line does not end in a newline"]));
		},
	});
}
