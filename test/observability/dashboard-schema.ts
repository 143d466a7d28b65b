/**
 * Checks a Grafana dashboard against Grafana's own schema: the `Dashboard`
 * type that `@grafana/schema` generates from it. The JSON is compiled as an
 * object literal typed `Dashboard`, so TypeScript reports a missing required
 * field, a wrong type, a value outside a union (a variable `type`, say) and,
 * by excess-property checking, a field the schema does not know.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** A file name inside the repository, so `@grafana/schema` resolves from its node_modules. */
const VIRTUAL_FILE = fileURLToPath(
	new URL("dashboard-schema.check.ts", import.meta.url),
);

const OPTIONS: ts.CompilerOptions = {
	strict: true,
	noEmit: true,
	skipLibCheck: true,
	target: ts.ScriptTarget.ES2022,
	module: ts.ModuleKind.NodeNext,
	moduleResolution: ts.ModuleResolutionKind.NodeNext,
	types: [],
};

/** Type-checks `json` (a dashboard's text) as a `Dashboard`; returns one line per problem. */
export function checkDashboardSchema(json: string): string[] {
	const source = `import type { Dashboard } from "@grafana/schema";\nexport const dashboard: Dashboard = ${json};\n`;
	const host = ts.createCompilerHost(OPTIONS);
	const { getSourceFile, fileExists, readFile } = host;
	host.getSourceFile = (name, language, ...rest) =>
		name === VIRTUAL_FILE
			? ts.createSourceFile(name, source, language)
			: getSourceFile.call(host, name, language, ...rest);
	host.fileExists = (name) => name === VIRTUAL_FILE || fileExists(name);
	host.readFile = (name) =>
		name === VIRTUAL_FILE ? source : readFile.call(host, name);
	const program = ts.createProgram([VIRTUAL_FILE], OPTIONS, host);
	return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
		const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
		if (!diagnostic.file || diagnostic.start === undefined) return text;
		const { line } = diagnostic.file.getLineAndCharacterOfPosition(
			diagnostic.start,
		);
		// Line 2 of the source is the dashboard's line 1.
		return `dashboard.json:${line}: ${text}`;
	});
}
