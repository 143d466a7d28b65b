/**
 * Commander's own parse errors (unknown command, unknown option, missing
 * argument) rewritten into the one-line `sherpany: …` form every other error
 * has, with commander's "did you mean" suggestion kept on the same line.
 */
import type { Command } from "commander";

/** What the rewrite needs to know about the command that failed to parse. */
interface UsageErrorContext {
	/** The command as typed, such as `sherpany seed`. */
	readonly path: string;
	/** The subcommands of that command, offered when nothing similar was typed. */
	readonly commands: readonly string[];
}

/**
 * Turns commander's `error: unknown command 'serv'\n(Did you mean serve?)\n`
 * into `sherpany: unknown command 'serv' (did you mean serve?)\n`.
 */
function formatUsageError(text: string, context: UsageErrorContext): string {
	const [first = "", ...rest] = text.trim().split("\n");
	let message = first.replace(/^error: /, "").replace(/\.$/, "");
	// A command with subcommands and no arguments of its own (`migrate`)
	// reports a mistyped subcommand as an excess argument.
	const excess = message.match(
		/^too many arguments for '[^']+'\. Expected 0 arguments but got \d+: ([^,]+)/,
	)?.[1];
	if (excess !== undefined && context.commands.length > 0)
		message = `unknown command '${excess}'`;
	const suggestion = rest
		.join(" ")
		.match(/^\(Did you mean (.+)\?\)$/)?.[1]
		?.trim();
	if (suggestion) {
		message += ` (did you mean ${suggestion}?)`;
	} else if (
		message.startsWith("unknown command ") &&
		context.commands.length > 0
	) {
		message += `: the commands are ${context.commands.join(", ")}`;
	}
	return `sherpany: ${message}; see ${context.path} --help\n`;
}

/** Makes commander's parse errors, on `command` and every subcommand, print in the `sherpany: …` form. */
export function rewriteUsageErrors(command: Command, path: string): void {
	const context = {
		path,
		commands: command.commands.map((sub) => sub.name()),
	};
	command.configureOutput({
		outputError: (text, write) => write(formatUsageError(text, context)),
	});
	for (const sub of command.commands)
		rewriteUsageErrors(sub, `${path} ${sub.name()}`);
}
