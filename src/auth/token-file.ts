/**
 * The API token file: one accepted token per line, as the hex SHA-256 of the
 * token and an optional name, `<hex sha256> [name]`. The server keeps only
 * hashes, so the file (and a leaked copy of it) cannot be used to call the
 * API. Blank lines and lines starting with `#` are ignored; Windows line
 * endings and a leading byte-order mark are accepted. A file with no hash
 * accepts nobody and is refused, as is any line that is not a hash: the
 * error names the file and the line, never the line's text, which might be
 * a token pasted by mistake.
 */
import { ConfigError } from "../exit-codes.ts";

/** One accepted token: the SHA-256 of its bytes, and the name the request log shows. */
export interface ApiToken {
	readonly digest: Buffer;
	readonly name: string;
}

/** A SHA-256 is 32 bytes, 64 hex digits. */
const HEX_DIGITS = 64;
/** A name longer than this is a mistake, not a label. */
const MAX_NAME_LENGTH = 128;
/** Control characters have no place in a label that goes into log lines. */
const CONTROL_CHARACTER = /\p{Cc}/u;
/** What `sha256sum` prints after the hash when it read standard input. */
const STDIN_NAMES = new Set(["-", "*-"]);

/**
 * Parses the file's text. `source` names the file in errors, as
 * `API_TOKENS_FILE: /path/to/file`.
 */
export function parseTokenFile(text: string, source: string): ApiToken[] {
	const tokens: ApiToken[] = [];
	const lineOfDigest = new Map<string, number>();
	const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
	for (const [index, raw] of lines.entries()) {
		const line = raw.trim();
		if (line === "" || line.startsWith("#")) continue;
		const number = index + 1;
		const fail = (problem: string): never => {
			throw new ConfigError(
				`${source}, line ${number}: ${problem}; each line is '<hex sha256 of the token> [name]' (make one with: printf %s "$token" | sha256sum)`,
			);
		};
		const token = parseLine(line, fail);
		const hex = token.digest.toString("hex");
		const earlier = lineOfDigest.get(hex);
		if (earlier !== undefined) fail(`the same hash as line ${earlier}`);
		lineOfDigest.set(hex, number);
		tokens.push(token);
	}
	if (tokens.length === 0)
		throw new ConfigError(
			`${source} holds no token hash, so no request could pass: add a '<hex sha256> [name]' line (make one with: printf %s "$token" | sha256sum)`,
		);
	return tokens;
}

/** One line that is neither blank nor a comment. */
function parseLine(line: string, fail: (problem: string) => never): ApiToken {
	const [hash = "", ...rest] = line.split(/[ \t]+/);
	if (!/^[0-9A-Fa-f]+$/.test(hash))
		fail("the first field is not a hexadecimal SHA-256 hash");
	if (hash.length !== HEX_DIGITS)
		fail(
			`the hash has ${hash.length} hex digits, a SHA-256 hash has ${HEX_DIGITS}`,
		);
	const given = rest.join(" ");
	if (given.length > MAX_NAME_LENGTH)
		fail(`the name is longer than ${MAX_NAME_LENGTH} characters`);
	if (CONTROL_CHARACTER.test(given)) fail("the name has a control character");
	const name =
		given === "" || STDIN_NAMES.has(given)
			? `sha256:${hash.slice(0, 8).toLowerCase()}`
			: given;
	return { digest: Buffer.from(hash, "hex"), name };
}
