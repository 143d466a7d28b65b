/** Checks one imported row against the schema's rules, before the database sees it. */
import type { NewUser } from "../db/schema.ts";
import { findUnprintable, printable } from "./printable.ts";

/** `varchar(100)` in the schema. */
export const MAX_FIELD_LENGTH = 100;

/** Returns the user, or a message saying what is wrong with the row. */
export function validateUser(
	fields: Readonly<Record<string, unknown>>,
): NewUser | string {
	const name = readField(fields, "name");
	if (name.error) return name.error;
	const email = readField(fields, "email");
	if (email.error) return email.error;
	if (!/^[^\s@]+@[^\s@]+$/.test(email.value))
		return `email "${printable(email.value)}" is not an email address`;
	return { name: name.value, email: email.value };
}

/** A trimmed, non-empty string of at most 100 characters, with no control or bidirectional-control character. */
function readField(
	fields: Readonly<Record<string, unknown>>,
	key: string,
): { value: string; error?: string } {
	const raw = fields[key];
	if (raw === undefined || raw === null)
		return { value: "", error: `missing ${key}` };
	if (typeof raw !== "string")
		return { value: "", error: `${key} must be a string` };
	const value = raw.trim();
	if (value === "") return { value, error: `missing ${key}` };
	// PostgreSQL text cannot hold U+0000 (the insert would fail for the whole
	// import, without a line number), and the other controls and the
	// bidirectional overrides would be stored, then shown by every client
	// that prints a name, rewriting or reordering what its reader sees.
	const unprintable = findUnprintable(value);
	if (unprintable !== undefined)
		return {
			value,
			error:
				unprintable === "U+0000"
					? `${key} contains a NUL character`
					: `${key} contains the control character ${unprintable}`,
		};
	// varchar(100) counts characters, not UTF-16 units.
	if ([...value].length > MAX_FIELD_LENGTH) {
		return {
			value,
			error: `${key} is longer than ${MAX_FIELD_LENGTH} characters`,
		};
	}
	return { value };
}
