/**
 * The NDJSON export as a stream that reads a batch only when its reader
 * asks for one. Koa pipes it into the response, and the pipe stops asking
 * while the socket's buffer is full; so an export whose client stops
 * reading holds the one batch in that buffer and nothing else: no batch
 * read ahead, and no database connection (each batch is its own query).
 */
import { Readable } from "node:stream";
import type { User } from "../db/schema.ts";

export class NdjsonExport extends Readable {
	readonly #batches: AsyncGenerator<User[]>;
	#first: User[] | undefined;
	#reading = false;

	/** `first` is the batch already read (so a database that is down got a 503, not a cut-off 200). */
	constructor(batches: AsyncGenerator<User[]>, first: User[] | undefined) {
		// Object mode, no buffer of its own: each string goes straight to the socket.
		super({ objectMode: true, highWaterMark: 0 });
		this.#batches = batches;
		this.#first = first;
		if (first === undefined) this.push(null);
	}

	override _read(): void {
		if (this.#reading) return;
		const first = this.#first;
		if (first !== undefined) {
			this.#first = undefined;
			this.push(toLines(first));
			return;
		}
		this.#reading = true;
		void this.#readBatch();
	}

	async #readBatch(): Promise<void> {
		try {
			const batch = await this.#batches.next();
			this.#reading = false;
			if (this.destroyed) return;
			this.push(batch.done ? null : toLines(batch.value));
		} catch (error) {
			this.destroy(error as Error);
		}
	}

	override _destroy(
		error: Error | null,
		callback: (error?: Error | null) => void,
	): void {
		// Ends the generator once a read in progress settles; it holds nothing meanwhile.
		this.#batches.return(undefined).catch(() => {});
		callback(error);
	}
}

/**
 * One JSON line per user. Each batch goes out as one chunk: a chunk per
 * line cost the stream machinery more than the JSON itself (bench/RESULTS.md).
 */
function toLines(users: readonly User[]): string {
	let out = "";
	for (const user of users) out += `${JSON.stringify(user)}\n`;
	return out;
}
