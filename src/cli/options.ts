/**
 * The command-line options of each command, derived from the settings that
 * src/config declares: commander only parses them; values, defaults and
 * validation live in the config loaders. The help names each option's
 * environment variables and default from the same declaration.
 */
import type { Command } from "commander";
import { API_TOKENS_SETTINGS } from "../config/api-tokens.ts";
import { CHECK_HEALTH_SETTINGS } from "../config/check-health.ts";
import { DATABASE_SETTINGS } from "../config/database.ts";
import { READ_REPLICA_SETTINGS } from "../config/read-replica.ts";
import { SEED_SETTINGS } from "../config/seed.ts";
import { SERVE_SETTINGS } from "../config/server.ts";
import {
	describeEnvAndDefault,
	flagOf,
	type Settings,
} from "../config/setting.ts";

/** One commander option: its flags (`--port <port>`) and its help line. */
export interface OptionSpec {
	readonly flags: string;
	readonly description: string;
}

/** The options of a group of settings, in the order they are declared. */
export function optionsOf(settings: Settings): readonly OptionSpec[] {
	return Object.entries(settings).map(([key, setting]) => ({
		flags: setting.placeholder
			? `${flagOf(key)} ${setting.placeholder}`
			: flagOf(key),
		description: `${setting.description} (${describeEnvAndDefault(setting)})`,
	}));
}

export const DATABASE_OPTIONS = optionsOf(DATABASE_SETTINGS);
/** `serve` only: `migrate` and `seed` always use the primary. */
export const READ_REPLICA_OPTIONS = optionsOf(READ_REPLICA_SETTINGS);
export const SERVE_OPTIONS = optionsOf(SERVE_SETTINGS);
/** `serve` only: authentication of the API. */
export const API_TOKENS_OPTIONS = optionsOf(API_TOKENS_SETTINGS);
export const SEED_OPTIONS = optionsOf(SEED_SETTINGS);
export const CHECK_HEALTH_OPTIONS = optionsOf(CHECK_HEALTH_SETTINGS);

/** Adds options to a command, each with its variables and default in the help. */
export function addOptions(
	command: Command,
	...groups: (readonly OptionSpec[])[]
): Command {
	for (const spec of groups.flat()) {
		// createOption, not `new Option`: this module must not load commander,
		// which a probe's plain command line skips (src/cli/probe-args.ts).
		command.addOption(command.createOption(spec.flags, spec.description));
	}
	return command;
}
