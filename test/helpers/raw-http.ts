/**
 * Raw HTTP/1.1 over one TCP socket, for tests that must control the bytes
 * and the connection: dribbled headers, oversized lines, socket reuse.
 *
 * @module
 */
import { connect, type Socket } from "node:net";

/** A connected socket that records what arrived and how it ended. */
export interface RawConnection {
	readonly socket: Socket;
	/** Everything received so far. */
	received(): string;
	/** Resolves when the server ends the connection: "end" (clean FIN) or the error code. */
	readonly closed: Promise<string>;
	/** Resolves once `count` complete responses (by Content-Length) have arrived. */
	responses(count: number, timeoutMs?: number): Promise<RawResponse[]>;
}

interface RawResponse {
	readonly status: number;
	readonly headers: Record<string, string>;
	readonly body: string;
}

/** Opens a TCP connection to 127.0.0.1:`port`. */
export async function openConnection(port: number): Promise<RawConnection> {
	const socket = connect(port, "127.0.0.1");
	let data = "";
	socket.setEncoding("utf8");
	socket.on("data", (chunk: string) => {
		data += chunk;
	});
	const closed = new Promise<string>((resolve) => {
		socket.on("error", (error: NodeJS.ErrnoException) =>
			resolve(error.code ?? error.message),
		);
		socket.on("end", () => resolve("end"));
		socket.on("close", () => resolve("end"));
	});
	await new Promise<void>((resolve, reject) => {
		socket.once("connect", resolve);
		socket.once("error", reject);
	});
	return {
		socket,
		received: () => data,
		closed,
		async responses(count, timeoutMs = 10_000) {
			for (let waited = 0; waited <= timeoutMs; waited += 10) {
				const parsed = parseResponses(data);
				if (parsed.length >= count) return parsed;
				await new Promise((resolve) => setTimeout(resolve, 10));
			}
			throw new Error(
				`fewer than ${count} responses in ${timeoutMs} ms: ${data}`,
			);
		},
	};
}

/** Splits a byte stream into complete responses (each with a Content-Length). */
function parseResponses(data: string): RawResponse[] {
	const responses: RawResponse[] = [];
	let rest = data;
	for (;;) {
		const end = rest.indexOf("\r\n\r\n");
		if (end < 0) return responses;
		const [statusLine = "", ...lines] = rest.slice(0, end).split("\r\n");
		const headers: Record<string, string> = {};
		for (const line of lines) {
			const colon = line.indexOf(":");
			headers[line.slice(0, colon).toLowerCase()] = line
				.slice(colon + 1)
				.trim();
		}
		const length = Number(headers["content-length"] ?? 0);
		const bodyStart = end + 4;
		if (Buffer.byteLength(rest.slice(bodyStart)) < length) return responses;
		const body = rest.slice(bodyStart, bodyStart + length);
		responses.push({
			status: Number(statusLine.split(" ")[1]),
			headers,
			body,
		});
		rest = rest.slice(bodyStart + length);
	}
}
