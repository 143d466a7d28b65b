/** The settings that are durations in milliseconds, declared alike. */
import type { Setting } from "./setting.ts";
import { parseInteger, type RawSetting } from "./values.ts";

/** A duration in milliseconds, set by one variable, from `min` to `max`. */
export function milliseconds(options: {
	readonly env: string;
	readonly default: number;
	readonly helpDefault?: string;
	readonly description: string;
	readonly min: number;
	readonly max: number;
}) {
	const { env, min, max, ...rest } = options;
	return {
		...rest,
		placeholder: "<ms>",
		env: [env],
		parse: (raw: RawSetting) => parseInteger(raw, min, max),
	} as const satisfies Setting<number>;
}
