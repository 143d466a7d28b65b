/**
 * The optional bearer-token authentication of `sherpany serve`:
 * `--api-tokens-file` / `API_TOKENS_FILE` names a file of SHA-256 hashes of
 * the accepted tokens (src/auth/token-file.ts). Unset, `/users` is open, as
 * the original app's was. Only the path is resolved here; `serve` reads the
 * file, and reads it again whenever it changes.
 */
import { type FlagsOf, pick, type Settings } from "./setting.ts";
import type { Env } from "./values.ts";

/** Where the accepted tokens' hashes are, and which flag or variable said so. */
export interface ApiTokensConfig {
	readonly file: string;
	/** `API_TOKENS_FILE` or `--api-tokens-file`, for error messages. */
	readonly origin: string;
}

/** The authentication settings of `serve`, by the key commander gives each flag's value. */
export const API_TOKENS_SETTINGS = {
	apiTokensFile: {
		placeholder: "<path>",
		env: ["API_TOKENS_FILE"],
		helpDefault: "none: /users needs no token",
		description:
			"file of '<hex sha256> [name]' lines: /users then requires 'Authorization: Bearer <token>'; re-read when it changes",
	},
} as const satisfies Settings;

/** The authentication flags as commander hands them over; absent flags are undefined. */
export type ApiTokensFlags = FlagsOf<typeof API_TOKENS_SETTINGS>;

/** Resolves the token file's path, or undefined when authentication is off. Pure. */
export function loadApiTokensConfig(
	env: Env,
	flags: ApiTokensFlags = {},
): ApiTokensConfig | undefined {
	const raw = pick(API_TOKENS_SETTINGS, "apiTokensFile", flags, env);
	return raw && Object.freeze({ file: raw.value, origin: raw.origin });
}
