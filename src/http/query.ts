/** Parsing of query parameters into numbers, with 400s that name the parameter. */
import type { ParsedUrlQuery } from "node:querystring";
import { clientError } from "./error-responses.ts";

/** A query parameter that must be a whole number in [min, max]; `fallback` when absent. */
export function parseIntegerParam(
	query: ParsedUrlQuery,
	name: string,
	min: number,
	max: number,
	fallback: number,
): number {
	const raw = query[name];
	if (raw === undefined) return fallback;
	if (Array.isArray(raw))
		throw clientError(
			400,
			"invalid_parameter",
			`${name} must be given at most once`,
		);
	if (!/^\d{1,10}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
		throw clientError(
			400,
			"invalid_parameter",
			`${name} must be a whole number from ${min} to ${max}`,
		);
	}
	return Number(raw);
}
