/**
 * Validates rendered Kubernetes objects against schemas, offline:
 * - built-in kinds with `kubernetes-models` (generated from a current
 *   Kubernetes release's OpenAPI schema);
 * - Prometheus Operator, External Secrets and Gateway API objects with their
 *   `@kubernetes-models/*` packages (generated from their CRDs);
 * - CloudNativePG objects (and the barman-cloud plugin's ObjectStore) with
 *   ajv against the projects' own CRDs, vendored in test/fixtures/crds (no
 *   model package exists on npm).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { Ajv, type ValidateFunction } from "ajv";
import { parse } from "yaml";
import type { KubeObject } from "./kustomize.ts";

/** A model class as the `@kubernetes-models` packages export them. */
interface ModelClass {
	new (data: unknown): { validate(): void };
	readonly apiVersion: string;
	readonly kind: string;
}

/** Where each API group's models come from; `""` is the core group. */
const MODEL_PACKAGES: Record<string, string> = {
	"monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
	"external-secrets.io": "@kubernetes-models/external-secrets",
	"gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
};

/** CRDs vendored verbatim from their projects, by group and kind (see test/fixtures/crds/README.md). */
const VENDORED_CRDS: Record<string, Record<string, string>> = {
	"postgresql.cnpg.io": {
		Cluster: "postgresql.cnpg.io_clusters.yaml",
		ScheduledBackup: "postgresql.cnpg.io_scheduledbackups.yaml",
	},
	"barmancloud.cnpg.io": {
		ObjectStore: "barmancloud.cnpg.io_objectstores.yaml",
	},
};

const CRD_DIR = new URL("../fixtures/crds/", import.meta.url);

/**
 * Throws when `object` does not match the schema of its apiVersion and kind,
 * or when no schema is known for them (an unknown kind is a failure, never a
 * pass).
 */
export async function validateObject(object: KubeObject): Promise<void> {
	const [group, version] = object.apiVersion.includes("/")
		? (object.apiVersion.split("/") as [string, string])
		: ["", object.apiVersion];
	const name = `${object.kind}/${object.metadata?.name}`;
	if (group in VENDORED_CRDS) {
		const validate = await crdValidator(group, version, object.kind);
		const { apiVersion } = object;
		if (!validate(object))
			throw new Error(
				`${name} does not match the ${apiVersion} CRD schema: ${formatErrors(validate)}`,
			);
		return;
	}
	const model = await findModel(group, version, object.kind);
	try {
		new model(object).validate();
	} catch (error) {
		throw new Error(
			`${name} does not match the ${object.apiVersion} schema: ${(error as Error).message}`,
			{ cause: error },
		);
	}
}

/**
 * The module whose exports model `apiVersion` (a class per kind and an
 * `I<Kind>` interface), or undefined for the vendored CRDs.
 */
export function modelModule(apiVersion: string): string | undefined {
	const [group, version] = apiVersion.includes("/")
		? (apiVersion.split("/") as [string, string])
		: ["", apiVersion];
	if (group in VENDORED_CRDS) return undefined;
	const pkg = MODEL_PACKAGES[group] ?? "kubernetes-models";
	return group === "" ? `${pkg}/${version}` : `${pkg}/${group}/${version}`;
}

async function findModel(
	group: string,
	version: string,
	kind: string,
): Promise<ModelClass> {
	const specifier = modelModule(
		group ? `${group}/${version}` : version,
	) as string;
	let exports: Record<string, unknown>;
	try {
		exports = (await import(specifier)) as Record<string, unknown>;
	} catch (error) {
		throw new Error(
			`no schema for apiVersion ${group ? `${group}/` : ""}${version}: ${specifier} cannot be loaded`,
			{ cause: error },
		);
	}
	const model = exports[kind] as ModelClass | undefined;
	if (typeof model !== "function" || model.kind !== kind)
		throw new Error(`no schema for kind ${kind} in ${specifier}`);
	return model;
}

const crdValidators = new Map<string, Promise<ValidateFunction>>();

function crdValidator(
	group: string,
	version: string,
	kind: string,
): Promise<ValidateFunction> {
	const key = `${group}/${version}/${kind}`;
	let validator = crdValidators.get(key);
	if (!validator) {
		validator = loadCrdValidator(group, version, kind);
		crdValidators.set(key, validator);
	}
	return validator;
}

interface Crd {
	spec: {
		group: string;
		names: { kind: string };
		versions: { name: string; schema: { openAPIV3Schema: JsonSchema } }[];
	};
}

type JsonSchema = { [keyword: string]: unknown };

async function loadCrdValidator(
	group: string,
	version: string,
	kind: string,
): Promise<ValidateFunction> {
	const file = VENDORED_CRDS[group]?.[kind];
	if (file === undefined)
		throw new Error(
			`no schema for ${group}/${version} ${kind}: no CRD of that kind is vendored in test/fixtures/crds`,
		);
	const crd = parse(await readFile(new URL(file, CRD_DIR), "utf8")) as Crd;
	if (crd.spec.group !== group || crd.spec.names.kind !== kind)
		throw new Error(
			`no schema for ${group}/${version} ${kind}: ${file} defines ${crd.spec.group} ${crd.spec.names.kind}`,
		);
	const schema = crd.spec.versions.find((v) => v.name === version)?.schema
		.openAPIV3Schema;
	if (!schema)
		throw new Error(`no schema for ${group}/${version}: not served by ${file}`);
	// The API server prunes (or, with kubectl's default --validate=strict,
	// rejects) fields a structural schema does not declare; JSON Schema
	// allows them. Closing every declared object makes a misspelt field fail
	// here as it would there. Kubernetes' extension keywords and formats
	// (int32, int-or-string) mean nothing to ajv: ignore them.
	const ajv = new Ajv({
		strict: false,
		validateFormats: false,
		allErrors: true,
	});
	return ajv.compile(closeObjects(structuredClone(schema)));
}

/** Adds `additionalProperties: false` to every object schema that lists its properties and keeps no unknown fields. */
function closeObjects(schema: JsonSchema): JsonSchema {
	if (
		schema.properties !== undefined &&
		schema.additionalProperties === undefined &&
		schema["x-kubernetes-preserve-unknown-fields"] !== true
	) {
		schema.additionalProperties = false;
	}
	for (const value of Object.values(schema)) {
		if (Array.isArray(value)) {
			for (const item of value)
				if (item && typeof item === "object") closeObjects(item as JsonSchema);
		} else if (value && typeof value === "object") {
			closeObjects(value as JsonSchema);
		}
	}
	return schema;
}

function formatErrors(validate: ValidateFunction): string {
	return (validate.errors ?? [])
		.slice(0, 5)
		.map(
			(error) =>
				`${error.instancePath || "/"} ${error.message ?? ""}${error.keyword === "additionalProperties" ? ` (${String((error.params as { additionalProperty?: string }).additionalProperty)})` : ""}`,
		)
		.join("; ");
}
