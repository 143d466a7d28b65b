/**
 * Which combinations of `deploy/kubernetes/` the deploy suites render: the
 * base alone, the base with each component alone, each database choice with
 * every extra, and every overlay. Components found on disk and not named
 * here (a new one) are treated as extras, so they are rendered too.
 */
import {
	type KubeObject,
	kustomize,
	listComponents,
	listOverlays,
	renderWith,
} from "./kustomize.ts";

/** The database components: an overlay takes one of them or none. */
export const DATABASES = ["postgres", "cloudnativepg", "external-db"] as const;

/** Copies the Deployment's database settings, so it comes after the database component. */
const LAST = "seed-job";

/** Extras that make no sense with a database component. */
const EXCLUDED: Record<string, readonly string[]> = {
	// The operator generates the database secret; an ExternalSecret would fight it.
	cloudnativepg: ["external-secret"],
};

/**
 * Components that only make sense on top of others, listed before them:
 * rendered alone with those, and with a database only when it is among them.
 */
const REQUIRES: Record<string, readonly string[]> = {
	"cloudnativepg-backup": ["cloudnativepg"],
	"cloudnativepg-recovery": ["cloudnativepg", "cloudnativepg-backup"],
};

/** One thing to render: an overlay, or the base with components in order. */
export interface Combination {
	readonly label: string;
	readonly overlay?: string;
	readonly components: readonly string[];
}

/** Every combination the suites check. */
export async function listCombinations(): Promise<Combination[]> {
	const components = await listComponents();
	const extras = components.filter(
		(name) => !(DATABASES as readonly string[]).includes(name) && name !== LAST,
	);
	const combinations: Combination[] = [{ label: "base", components: [] }];
	for (const name of components) {
		const chosen = [...(REQUIRES[name] ?? []), name];
		combinations.push({
			label: `base + ${chosen.join(" + ")}`,
			components: chosen,
		});
	}
	for (const database of [undefined, ...DATABASES]) {
		const chosen = [
			...(database ? [database] : []),
			...extras.filter(
				(extra) =>
					!EXCLUDED[database ?? ""]?.includes(extra) &&
					(REQUIRES[extra] ?? []).every((needed) =>
						[database, ...extras].includes(needed),
					),
			),
			...(components.includes(LAST) ? [LAST] : []),
		];
		combinations.push({
			label: `base + ${chosen.join(" + ")}`,
			components: chosen,
		});
	}
	for (const overlay of await listOverlays())
		combinations.push({
			label: `overlay ${overlay}`,
			overlay,
			components: [],
		});
	return combinations;
}

const rendered = new Map<string, Promise<KubeObject[]>>();

/** Renders a combination with `kubectl kustomize` (once per process; callers must not mutate the result). */
export function renderCombination(
	combination: Combination,
): Promise<KubeObject[]> {
	const key = combination.overlay
		? `overlay:${combination.overlay}`
		: combination.components.join(",");
	let objects = rendered.get(key);
	if (!objects) {
		objects = combination.overlay
			? kustomize(`overlays/${combination.overlay}`)
			: renderWith(combination.components);
		rendered.set(key, objects);
	}
	return objects;
}
