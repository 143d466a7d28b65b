/**
 * Renders `deploy/kubernetes/` with `kubectl kustomize`, the way an operator
 * would (`kubectl apply -k`), and parses the output into plain objects.
 *
 * A combination of the base with some components is rendered through a
 * throwaway overlay in a temp dir that points back at the repository with
 * relative paths (kustomize refuses absolute ones).
 *
 * @module
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

/** `deploy/kubernetes/` of this checkout. */
export const KUBERNETES_DIR = fileURLToPath(
	new URL("../../deploy/kubernetes/", import.meta.url),
);

/** The kubectl to run: `KUBECTL`, else the first `kubectl` on PATH. */
const KUBECTL = process.env.KUBECTL ?? "kubectl";

/** kustomize 5 brought `labels[].includeTemplates` and stable `replacements` in components. */
const MIN_KUSTOMIZE_MAJOR = 5;

const INSTALL_HINT =
	"install kubectl 1.27 or later (it embeds kustomize 5), e.g. from https://dl.k8s.io or the Kubernetes apt repository, " +
	"or point KUBECTL at one; Debian 12's kubernetes-client package is 1.20 and too old";

/** A rendered Kubernetes object. */
export interface KubeObject {
	apiVersion: string;
	kind: string;
	metadata: {
		name: string;
		namespace?: string;
		labels?: Record<string, string>;
		annotations?: Record<string, string>;
	};
	[field: string]: unknown;
}

let checked: Promise<void> | undefined;

/** Fails with an actionable message when kubectl is missing or its kustomize too old. */
export function checkKubectl(): Promise<void> {
	checked ??= (async () => {
		let out: string;
		try {
			out = await run(KUBECTL, ["version", "--client", "-o", "json"]);
		} catch (error) {
			throw new Error(`cannot run ${KUBECTL}: ${INSTALL_HINT}`, {
				cause: error,
			});
		}
		const version = JSON.parse(out) as { kustomizeVersion?: string };
		const major = Number(/^v?(\d+)/.exec(version.kustomizeVersion ?? "")?.[1]);
		if (!(major >= MIN_KUSTOMIZE_MAJOR))
			throw new Error(
				`${KUBECTL} embeds kustomize ${version.kustomizeVersion ?? "(none)"}, need ${MIN_KUSTOMIZE_MAJOR} or later: ${INSTALL_HINT}`,
			);
	})();
	return checked;
}

/** Renders a kustomization directory (absolute, or relative to `deploy/kubernetes/`). */
export async function kustomize(dir: string): Promise<KubeObject[]> {
	await checkKubectl();
	const out = await run(KUBECTL, ["kustomize", resolve(KUBERNETES_DIR, dir)]);
	return parseObjects(out);
}

/** Renders the base with the named components, in that order. */
export async function renderWith(
	components: readonly string[],
): Promise<KubeObject[]> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-kustomize-"));
	try {
		const toRepo = (path: string) => relative(dir, join(KUBERNETES_DIR, path));
		const kustomization = {
			apiVersion: "kustomize.config.k8s.io/v1beta1",
			kind: "Kustomization",
			resources: [toRepo("base")],
			components: components.map((name) => toRepo(`components/${name}`)),
		};
		// JSON is YAML.
		await writeFile(
			join(dir, "kustomization.yaml"),
			JSON.stringify(kustomization),
		);
		return await kustomize(dir);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

/**
 * overlays/release with its placeholder digests replaced, as the release
 * workflow does before it renders the manifests it publishes: the app's
 * image pinned to `tag` and `digest`, PostgreSQL's to `postgresImage`.
 */
export async function renderPinnedRelease(
	tag: string,
	digest: string,
	postgresImage: string,
): Promise<KubeObject[]> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-release-"));
	try {
		const kustomization = {
			apiVersion: "kustomize.config.k8s.io/v1beta1",
			kind: "Kustomization",
			resources: [relative(dir, join(KUBERNETES_DIR, "overlays/release"))],
			images: [{ name: "ghcr.io/sherpany/sherpany", newTag: tag, digest }],
			patches: [
				{
					target: { kind: "Cluster", name: "sherpany-db" },
					patch: JSON.stringify([
						{ op: "replace", path: "/spec/imageName", value: postgresImage },
					]),
				},
			],
		};
		await writeFile(
			join(dir, "kustomization.yaml"),
			JSON.stringify(kustomization),
		);
		return await kustomize(dir);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

/** The component directories on disk, by name. */
export async function listComponents(): Promise<string[]> {
	const entries = await readdir(join(KUBERNETES_DIR, "components"), {
		withFileTypes: true,
	});
	return entries
		.filter((entry) => entry.isDirectory())
		.map((entry) => entry.name)
		.sort();
}

/** The overlay directories on disk, by name. */
export async function listOverlays(): Promise<string[]> {
	const entries = await readdir(join(KUBERNETES_DIR, "overlays"), {
		withFileTypes: true,
	});
	return entries
		.filter((entry) => entry.isDirectory())
		.map((entry) => entry.name)
		.sort();
}

/** Parses a multi-document YAML stream into objects; throws on a YAML error. */
export function parseObjects(text: string): KubeObject[] {
	return parseAllDocuments(text)
		.map((document) => {
			if (document.errors.length > 0) throw document.errors[0];
			return document.toJS() as KubeObject | null;
		})
		.filter((object): object is KubeObject => object !== null);
}

/** The one object of `kind` named `name`; throws naming what is there when it is missing. */
export function findObject<T = KubeObject>(
	objects: readonly KubeObject[],
	kind: string,
	name: string,
): T {
	const found = objects.find(
		(object) => object.kind === kind && object.metadata.name === name,
	);
	if (!found)
		throw new Error(
			`no ${kind} ${name} in the rendered objects: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`,
		);
	return found as T;
}

/** The object of `kind` whose name is `prefix` plus kustomize's hash suffix (generated ConfigMaps and Secrets). */
export function findGenerated<T = KubeObject>(
	objects: readonly KubeObject[],
	kind: string,
	prefix: string,
): T {
	const found = objects.filter(
		(object) =>
			object.kind === kind &&
			new RegExp(`^${prefix}-[a-z0-9]{10}$`).test(object.metadata.name),
	);
	if (found.length !== 1)
		throw new Error(
			`expected one generated ${kind} ${prefix}-<hash>, found ${found.length}`,
		);
	return found[0] as T;
}

function run(file: string, args: readonly string[]): Promise<string> {
	return new Promise((resolve, reject) => {
		execFile(
			file,
			[...args],
			{ maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
			(error, stdout, stderr) => {
				if (error)
					reject(
						new Error(
							`${file} ${args.join(" ")} failed: ${stderr.trim() || error.message}`,
							{ cause: error },
						),
					);
				else resolve(stdout);
			},
		);
	});
}
