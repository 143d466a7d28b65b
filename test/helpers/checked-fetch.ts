/**
 * `fetch` that holds every response to the served OpenAPI document
 * (src/http/openapi-document.ts): a status, header or body it does not
 * describe fails the request with an error that says what differs. A body
 * in one piece (JSON, text) is read and checked before the response is
 * handed over; an NDJSON stream is checked line by line as the test reads
 * it, so a test that holds an export open still holds it, and a line that
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

/** Passes the bytes on unchanged, checking each complete line as it goes by. */
function checkLines(
	checkLine: (line: string) => string[],
	fail: (problems: string[]) => Error,
): TransformStream<Uint8Array, Uint8Array> {
	const decoder = new TextDecoder();
	let partial = "";
	return new TransformStream({
		transform(chunk, controller) {
			const lines = (partial + decoder.decode(chunk, { stream: true })).split(
				"\n",
			);
			partial = lines.pop() ?? "";
			const problems = lines.flatMap(checkLine);
			if (problems.length > 0) controller.error(fail(problems));
			else controller.enqueue(chunk);
		},
		flush(controller) {
			if (partial + decoder.decode() !== "")
				controller.error(fail(["the last line does not end in a newline"]));
		},
	});
}
