/**
 * What the readers of a users file share: the row they yield, the bound on
 * a record, and the file's read stream.
 */
import { createReadStream, type ReadStream } from "node:fs";
import { errorReason } from "../error-code.ts";
import { CommandError } from "../exit-codes.ts";

/**
 * The longest CSV record or NDJSON line read. A good row is far shorter (a
 * name and an email of at most 100 characters each); a longer one is
 * reported at the line it starts on, and memory stays bounded by this.
 */
export const MAX_RECORD_CHARS = 65_536;

/** One row: the raw fields, or why the line could not be read at all. */
export type UserRow =
	| {
			readonly line: number;
			readonly fields: Readonly<Record<string, unknown>>;
	  }
	| { readonly line: number; readonly error: string };

/** A read stream of the file that keeps, as a CommandError, the error it failed with. */
export class Input {
	readonly stream: ReadStream;
	failure: CommandError | undefined;

	constructor(path: string) {
		this.stream = createReadStream(path);
		this.stream.once("error", (error) => {
			this.failure = new CommandError(
				`cannot read ${path} (${errorReason(error)})`,
				{ cause: error },
			);
		});
	}
}
