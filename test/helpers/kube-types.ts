/**
 * Finds fields that no schema declares. `kubernetes-models`' validators
 * check types and required fields but let unknown ones through, while the API
 * server drops them (or, under kubectl's default `--validate=strict`, refuses
 * the object): a misspelt `readinessProbe` would vanish without a word.
 *
 * The same packages ship TypeScript interfaces (`IDeployment`, …) generated
 * from the same schemas, and TypeScript rejects an unknown property in an
 * object literal. So the objects are written as typed literals into one
 * in-memory module and type-checked with the project's TypeScript; each
 * complaint names the object and the field.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { modelModule } from "./kube-schemas.ts";
import type { KubeObject } from "./kustomize.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Never written to disk; placed in test/ so that node_modules resolves. */
const VIRTUAL_FILE = join(ROOT, "test", "deploy", "rendered-objects.ts");

/**
 * Type-checks every object against its kind's interface and returns one line
 * per problem (`Deployment/sherpany: Object literal may only specify known
 * properties, and 'imagee' does not exist in type 'IContainer'.`). Objects
 * without a model package (the vendored CRDs) are left to their validator.
 */
export function findUnknownFields(objects: readonly KubeObject[]): string[] {
	const imports: string[] = [];
	const lines: string[] = [];
	const owners: string[] = [];
	for (const object of objects) {
		const module = modelModule(object.apiVersion);
		if (!module) continue;
		const alias = `T${imports.length}`;
		imports.push(
			`import type { I${object.kind} as ${alias} } from "${module}";`,
		);
		owners.push(`${object.kind}/${object.metadata.name}`);
		lines.push(
			`export const o${lines.length}: ${alias} = ${JSON.stringify(object)};`,
		);
	}
	const source = [...imports, ...lines].join("\n");
	const options: ts.CompilerOptions = {
		target: ts.ScriptTarget.ES2022,
		module: ts.ModuleKind.NodeNext,
		moduleResolution: ts.ModuleResolutionKind.NodeNext,
		strict: true,
		noEmit: true,
		skipLibCheck: true,
		types: [],
	};
	const host = ts.createCompilerHost(options);
	const getSourceFile = host.getSourceFile.bind(host);
	host.getSourceFile = (fileName, languageVersion, ...rest) =>
		fileName === VIRTUAL_FILE
			? ts.createSourceFile(fileName, source, languageVersion, true)
			: getSourceFile(fileName, languageVersion, ...rest);
	const fileExists = host.fileExists.bind(host);
	host.fileExists = (fileName) =>
		fileName === VIRTUAL_FILE || fileExists(fileName);
	const program = ts.createProgram([VIRTUAL_FILE], options, host);
	const file = program.getSourceFile(VIRTUAL_FILE);
	return ts.getPreEmitDiagnostics(program, file).map((diagnostic) => {
		const message = ts.flattenDiagnosticMessageText(
			diagnostic.messageText,
			"\n",
		);
		if (
			diagnostic.file?.fileName !== VIRTUAL_FILE ||
			diagnostic.start === undefined
		)
			return message;
		const { line } = diagnostic.file.getLineAndCharacterOfPosition(
			diagnostic.start,
		);
		const owner = owners[line - imports.length] ?? "(imports)";
		return `${owner}: ${message}`;
	});
}
