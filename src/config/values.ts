/**
 * Raw values and their parsers, shared by the config loaders: read a value
 * from environment variables or a secret file, and parse it with an error
 * message that names where the value came from (its origin). Which flag or
 * variable a setting reads is declared in ./setting.ts.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { errorReason } from "../error-code.ts";
import { ConfigError } from "../exit-codes.ts";

/** The process environment, or a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Reads a secret file. Injected so tests and callers control the I/O. */
export type ReadFile = (path: string) => string;

/**
 * The most a secret or CA bundle file may hold. A CA bundle is the largest
 * (a system's whole store is about 220 KiB); anything bigger is the wrong
 * file, or a device such as /dev/zero that would never end.
 */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** Reads a UTF-8 file of at most {@link MAX_CONFIG_FILE_BYTES}; a bigger one throws. */
export const readFileUtf8: ReadFile = (path) => {
	const fd = openSync(path, "r");
	try {
		// One byte more than the limit tells a file at the limit from a bigger one.
		const buffer = Buffer.alloc(MAX_CONFIG_FILE_BYTES + 1);
		let length = 0;
		for (;;) {
			const read = readSync(fd, buffer, length, buffer.length - length, null);
			if (read === 0) break;
			length += read;
			if (length > MAX_CONFIG_FILE_BYTES)
				throw new Error(
					`larger than ${MAX_CONFIG_FILE_BYTES / 1024 / 1024} MiB: is it the right file?`,
				);
		}
		return buffer.toString("utf8", 0, length);
	} finally {
		closeSync(fd);
	}
};

/** A raw value and the flag or variable it came from (its origin), for error messages. */
export interface RawSetting {
	readonly value: string;
	readonly origin: string;
}

/** A default value, labelled as such for error messages. */
export function fallback(value: string | number): RawSetting {
	return { value: String(value), origin: "default" };
}

/** Returns the first non-empty of some environment variables, with its name as its origin. */
export function fromEnv(
	env: Env,
	...envNames: readonly string[]
): RawSetting | undefined {
	for (const name of envNames) {
		const value = env[name];
		if (value !== undefined && value !== "") return { value, origin: name };
	}
	return undefined;
}

/**
 * Reads a secret from `NAME` or from the file named by `NAME_FILE` (the way
 * Kubernetes and Docker mount secrets). Setting both is an error, as in the
 * official postgres image. A trailing newline in the file is dropped.
 */
export function readSecret(
	env: Env,
	name: string,
	readFile: ReadFile,
): RawSetting | undefined {
	const fileVar = `${name}_FILE`;
	const direct = env[name];
	const file = env[fileVar];
	if (direct && file) {
		throw new ConfigError(
			`${name} and ${fileVar} are both set: set only one of them`,
		);
	}
	if (direct) return { value: direct, origin: name };
	if (!file) return undefined;
	let content: string;
	try {
		content = readFile(file);
	} catch (error) {
		throw new ConfigError(
			`${fileVar}: cannot read ${file} (${errorReason(error)})`,
			{ cause: error },
		);
	}
	const value = content.replace(/\r?\n$/, "");
	if (value === "") throw new ConfigError(`${fileVar}: ${file} is empty`);
	return { value, origin: fileVar };
}

/** Parses a whole number within [min, max], naming its origin on failure. */
export function parseInteger(
	input: RawSetting,
	min: number,
	max: number,
): number {
	const { value, origin } = input;
	if (!/^\d+$/.test(value.trim())) {
		throw new ConfigError(
			`${origin}: expected a whole number from ${min} to ${max}, got "${value}"`,
		);
	}
	const number = Number(value.trim());
	if (number < min || number > max) {
		throw new ConfigError(
			`${origin}: ${number} is out of range, expected ${min} to ${max}`,
		);
	}
	return number;
}

/** Parses a TCP port (1–65535). */
export function parsePort(input: RawSetting): number {
	return parseInteger(input, 1, 65535);
}

/** Parses a value that must be one of a fixed set. */
export function parseChoice<T extends string>(
	input: RawSetting,
	choices: readonly T[],
): T {
	const found = choices.find((choice) => choice === input.value);
	if (found === undefined) {
		throw new ConfigError(
			`${input.origin}: expected one of ${choices.join(", ")}, got "${input.value}"`,
		);
	}
	return found;
}

/** Parses a boolean flag or variable: true/false, 1/0, yes/no. */
export function parseBoolean(input: RawSetting): boolean {
	const value = input.value.toLowerCase();
	if (["1", "true", "yes"].includes(value)) return true;
	if (["0", "false", "no"].includes(value)) return false;
	throw new ConfigError(
		`${input.origin}: expected true or false, got "${input.value}"`,
	);
}
