/**
 * Requests that Node's HTTP parser rejects before Koa sees them (an unknown
 * method such as `FOO`, a malformed request line, oversized headers) get the
 * same JSON error body as every other error, instead of Node's bare
 * `400 Bad Request`. See http.Server's `clientError` event.
 */
import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";

/** Status, code and message for each parser error; anything else is a 400. */
const ANSWERS: Readonly<Record<string, readonly [number, string, string]>> = {
	// RFC 9110 §15.6.2: an unrecognised method is 501, as the router answers
	// a known method that no route implements.
	HPE_INVALID_METHOD: [501, "not_implemented", "method not implemented"],
	HPE_HEADER_OVERFLOW: [
		431,
		"request_header_fields_too_large",
		"request headers too large",
	],
	ERR_HTTP_REQUEST_TIMEOUT: [408, "request_timeout", "request timed out"],
};

const REASONS: Readonly<Record<number, string>> = {
	400: "Bad Request",
	408: "Request Timeout",
	431: "Request Header Fields Too Large",
	501: "Not Implemented",
};

/** The raw HTTP/1.1 response for a request the parser rejected with `code`. */
function parserErrorResponse(code: string | undefined): string {
	const [status, errorCode, message] = (code && ANSWERS[code]) || [
		400,
		"bad_request",
		"malformed HTTP request",
	];
	const body = JSON.stringify({ error: { code: errorCode, message } });
	return [
		`HTTP/1.1 ${status} ${REASONS[status]}`,
		"Content-Type: application/json; charset=utf-8",
		`Content-Length: ${Buffer.byteLength(body)}`,
		`X-Request-Id: ${randomUUID()}`,
		"X-Content-Type-Options: nosniff",
		"Cache-Control: no-store",
		"Connection: close",
		"",
		body,
	].join("\r\n");
}

/** Answers parser errors on `server` with a JSON body, and closes the connection. */
export function answerParserErrors(server: Server, logger: Logger): void {
	server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
		// A reset or half-written connection has no one to answer; a response
		// already under way cannot take a second status line.
		const busy = (socket as { _httpMessage?: unknown })._httpMessage;
		if (error.code === "ECONNRESET" || !socket.writable || busy) {
			socket.destroy();
			return;
		}
		logger.debug({ code: error.code }, "the HTTP parser rejected a request");
		socket.end(parserErrorResponse(error.code));
	});
}
