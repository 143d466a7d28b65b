/**
 * Settings declared once. Each command's settings are a record from a key to
 * a {@link Setting}; the key is the name commander gives the flag's value
 * (`shutdownDelayMs` for `--shutdown-delay-ms`), so the flag is derived from
 * it, never written twice. src/cli/options.ts builds the commander options
 * and their help from these records, and the config loaders read values
 * through them by key: a misspelt key does not compile.
 */
import {
	type Env,
	fallback,
	fromEnv,
	type RawSetting,
	type ReadFile,
	readFileUtf8,
	readSecret,
} from "./values.ts";

/** One setting: how it is given, what it defaults to, how it is parsed, what the help says. */
export interface Setting<T = unknown> {
	/** The flag's value in the help, as in `<ms>`; a setting without one is a switch (`--ready`). */
	readonly placeholder?: string;
	/** The variables that set it when the flag is not given, the first one set winning. */
	readonly env: readonly string[];
	/** A secret: its one variable `NAME` can also name a file, `NAME_FILE`, that holds it. */
	readonly secret?: boolean;
	/** The help's description; the help adds the variables and the default. */
	readonly description: string;
	/** The value when neither flag nor variable is set; parsed like a given one. */
	readonly default?: string | number;
	/** The default as the help shows it, when that is not `default` itself. */
	readonly helpDefault?: string;
	/** Turns the raw value into the setting's value; without one, the value is the string. */
	readonly parse?: (raw: RawSetting) => T;
}

/** A command's settings, by the key commander gives each flag's value. */
export type Settings = Readonly<Record<string, Setting>>;

/** The flags as commander hands them over: a string per value flag, a boolean per switch; absent flags are undefined. */
export type FlagsOf<G extends Settings> = {
	readonly [K in keyof G]?: G[K] extends { readonly placeholder: string }
		? string
		: boolean;
};

/** What a setting's parser returns, a string when it has none. */
type ValueOf<S> = S extends { readonly parse: (raw: RawSetting) => infer T }
	? T
	: string;

/** The value a setting resolves to: undefined too when it has no default. */
export type Resolved<S> = S extends { readonly default: string | number }
	? ValueOf<S>
	: ValueOf<S> | undefined;

/** `shutdownDelayMs` → `--shutdown-delay-ms`, the flag commander reads into that key. */
export function flagOf(key: string): string {
	return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** What the help says about where a setting comes from: `env: PORT, default: 8080`. */
export function describeEnvAndDefault(setting: Setting): string {
	const variables = setting.secret
		? setting.env.flatMap((name) => [name, `${name}_FILE`])
		: setting.env;
	const shown = setting.helpDefault ?? setting.default;
	return shown === undefined
		? `env: ${variables.join(" or ")}`
		: `env: ${variables.join(" or ")}, default: ${shown}`;
}

/** The flag's raw value, when it was given and not empty. */
export function fromFlag<G extends Settings>(
	settings: G,
	key: keyof G & string,
	flags: FlagsOf<G>,
): RawSetting | undefined {
	const value: unknown = flags[key];
	const origin = flagOf(key);
	if (settings[key]?.placeholder === undefined && typeof value === "boolean")
		return { value: String(value), origin };
	if (typeof value === "string" && value !== "") return { value, origin };
	return undefined;
}

/** The first variable of the setting that is set and not empty (a secret's `_FILE` too). */
export function fromVariables<G extends Settings>(
	settings: G,
	key: keyof G & string,
	env: Env,
	readFile: ReadFile = readFileUtf8,
): RawSetting | undefined {
	const setting = settings[key];
	const names = setting?.env ?? [];
	if (!setting?.secret) return fromEnv(env, ...names);
	for (const name of names) {
		const raw = readSecret(env, name, readFile);
		if (raw) return raw;
	}
	return undefined;
}

/** The raw value of a setting: its flag, else its variables. */
export function pick<G extends Settings>(
	settings: G,
	key: keyof G & string,
	flags: FlagsOf<G>,
	env: Env,
	readFile: ReadFile = readFileUtf8,
): RawSetting | undefined {
	return (
		fromFlag(settings, key, flags) ??
		fromVariables(settings, key, env, readFile)
	);
}

/**
 * The parsed value of a setting: flag, else variables, else its default
 * (`defaultValue` when the default depends on more than the setting).
 */
export function resolve<G extends Settings, K extends keyof G & string>(
	settings: G,
	key: K,
	flags: FlagsOf<G>,
	env: Env,
	defaultValue?: string | number,
): Resolved<G[K]> {
	const setting = settings[key];
	const byDefault = defaultValue ?? setting?.default;
	const raw =
		pick(settings, key, flags, env) ??
		(byDefault === undefined ? undefined : fallback(byDefault));
	if (raw === undefined) return undefined as Resolved<G[K]>;
	return (setting?.parse ? setting.parse(raw) : raw.value) as Resolved<G[K]>;
}
