/** A log destination for tests: each JSON line a logger writes is parsed into `lines`. */
import { Writable } from "node:stream";

export function logLines(): {
	destination: Writable;
	lines: Record<string, unknown>[];
} {
	const lines: Record<string, unknown>[] = [];
	const destination = new Writable({
		write(chunk: Buffer, _encoding, done) {
			for (const line of chunk.toString().split("\n")) {
				if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
			}
			done();
		},
	});
	return { destination, lines };
}
