/**
 * The playbook's example inventory and its guard rails, run for real with the
 * `render` tag (no cluster, no kubeconfig):
 * - its two hosts render exactly the repository's example overlays (dev and
 *   release), so the variables can say everything an overlay says;
 * - a second render with the same variables reports no change;
 * - a choice that cannot work stops before kustomize, naming the variable.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import {
	ansibleOrSkip,
	type Rendered,
	type RenderOptions,
	renderWithAnsible,
} from "../helpers/ansible.ts";
import { REFUSED_BY_BOTH } from "../helpers/deploy-rules.ts";
import {
	type KubeObject,
	kustomize,
	renderPinnedRelease,
} from "../helpers/kustomize.ts";

const { version } = JSON.parse(
	await readFile(new URL("../../package.json", import.meta.url), "utf8"),
) as { version: string };

import {
	checkServeSecret,
	withoutServeSecret,
} from "../helpers/serve-secret.ts";

/**
 * overlays/dev's throwaway passwords, which it keeps in the repository on
 * purpose, as host_vars/dev's vault variables. Extra vars reach every host:
 * production takes the serve one for its CloudNativePG read-only role.
 */
const DEV_VAULT = {
	vault_sherpany_db_superuser_password: "dev-only-superuser-not-a-secret",
	vault_sherpany_db_migrate_password: "dev-only-migrate-not-a-secret",
	vault_sherpany_db_serve_password: "dev-only-serve-not-a-secret",
};

/** A complete vaulted Secret for an in-cluster database. */
const IN_CLUSTER_SECRET = {
	"superuser-password": "x",
	"migrate-password": "y",
	"serve-password": "z",
};

const DIGEST = `sha256:${"ab".repeat(32)}`;
const ZERO_DIGEST = `sha256:${"0".repeat(64)}`;
const POSTGRES_IMAGE = `ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie@${DIGEST}`;
const PRODUCTION = {
	sherpany_database: "cloudnativepg",
	sherpany_database_secret: { "serve-password": "z" },
	sherpany_release: true,
};

/**
 * The digests the release pushed, for the production host only: extra vars
 * win over host_vars, so the condition keeps dev's tag-only image.
 */
const RELEASE_DIGESTS = {
	sherpany_image_digest: `{{ '${DIGEST}' if inventory_hostname == 'production' else '' }}`,
	sherpany_database_image: `{{ '${POSTGRES_IMAGE}' if inventory_hostname == 'production' else '' }}`,
};

/** Choices the role refuses, and what its message must name. */
const REFUSED: readonly {
	label: string;
	vars: Record<string, unknown>;
	message: RegExp;
}[] = [
	{
		label: "a recovery that would archive into the folder it recovers from",
		vars: {
			sherpany_database: "cloudnativepg",
			sherpany_database_secret: { "serve-password": "x" },
			sherpany_backup: {
				destination_path: "s3://b/p",
				recover_from: "sherpany-db",
			},
		},
		message:
			/Check sherpany_backup .*backup\.server_name must differ from backup\.recover_from/,
	},
	{
		label: "a backup setting the Terraform module does not have",
		vars: { sherpany_backup: { keep_days: 7 } },
		message: /Check sherpany_backup .*its keys are schedule, keep, retention/,
	},
	{
		label: "cloudnativepg with a Secret made by hand",
		vars: {
			sherpany_database: "cloudnativepg",
			sherpany_credentials: "existing",
		},
		message: /sherpany_database=cloudnativepg takes sherpany_credentials=vault/,
	},
	{
		label: "cloudnativepg without the read-only role's password",
		vars: {
			sherpany_database: "cloudnativepg",
			sherpany_database_secret: { password: "x" },
		},
		message: /needs sherpany_database_secret\.serve-password,/,
	},
	{
		label: "cloudnativepg with the owner's password too",
		vars: {
			sherpany_database: "cloudnativepg",
			sherpany_database_secret: {
				"serve-password": "x",
				"migrate-password": "y",
			},
		},
		message: /cloudnativepg: serve-password alone/,
	},
	{
		label: "an in-cluster database without its passwords",
		vars: { sherpany_database_secret: { uri: "postgres://x" } },
		message:
			/needs sherpany_database_secret\.superuser-password, \.migrate-password, \.serve-password/,
	},
	{
		label: "an in-cluster database missing one role's password",
		vars: {
			sherpany_database_secret: {
				"superuser-password": "x",
				"migrate-password": "y",
			},
		},
		message: /needs sherpany_database_secret\.superuser-password/,
	},
	{
		label: "the same password for two roles",
		vars: {
			sherpany_database_secret: { ...IN_CLUSTER_SECRET, "serve-password": "y" },
		},
		message: /no two the same/,
	},
	{
		label: "a Secret key that would name a file outside the render directory",
		vars: { sherpany_database_secret: { ...IN_CLUSTER_SECRET, "../x": "y" } },
		message: /keys made of letters, digits/,
	},
	...REFUSED_BY_BOTH.map(({ label, ansible }) => ({ label, ...ansible })),
	{
		label: "a release without the app's digest",
		vars: { ...PRODUCTION, sherpany_database_image: POSTGRES_IMAGE },
		message:
			/sherpany_release is true, so every image must be pinned by digest: set sherpany_image_digest/,
	},
	{
		label: "a release with PostgreSQL's image by tag alone",
		vars: {
			...PRODUCTION,
			sherpany_image_digest: DIGEST,
			sherpany_database_image: "ghcr.io/cloudnative-pg/postgresql:17.6",
		},
		message: /and sherpany_database_image to <image>:<tag>@sha256:/,
	},
	{
		label: "the all-zero placeholder digest",
		vars: {
			sherpany_database_secret: IN_CLUSTER_SECRET,
			sherpany_image_digest: ZERO_DIGEST,
		},
		message: /holds the all-zero placeholder digest/,
	},
	{
		label: "the all-zero placeholder digest of PostgreSQL's image",
		vars: {
			...PRODUCTION,
			sherpany_image_digest: DIGEST,
			sherpany_database_image: `ghcr.io/cloudnative-pg/postgresql:17.6@${ZERO_DIGEST}`,
		},
		message: /holds the all-zero placeholder digest/,
	},
	{
		label: "API token hashes with a token pasted in place of its hash",
		vars: {
			sherpany_database_secret: IN_CLUSTER_SECRET,
			sherpany_api_auth: "secret",
			sherpany_api_token_hashes: `${"0a".repeat(32)} ops\nq2Zc1v7mJ0bX3nK9sT4wYp8uH6rL5aE1dF0gI2jO3kM=\n`,
		},
		message: /sherpany_api_auth=secret needs sherpany_api_token_hashes/,
	},
	{
		label: "API tokens from a variable left empty",
		vars: {
			sherpany_database_secret: IN_CLUSTER_SECRET,
			sherpany_api_auth: "secret",
		},
		message: /sherpany_api_auth=secret needs sherpany_api_token_hashes/,
	},
	{
		label: "an unknown database mode",
		vars: { sherpany_database: "mysql" },
		message:
			/sherpany_database must be one of: in-cluster, cloudnativepg, external/,
	},
];

if (await ansibleOrSkip(t)) {
	// Every play starts at once: each spends most of its time starting processes.
	const example = Promise.all([
		renderWithAnsible(
			{ ...DEV_VAULT, ...RELEASE_DIGESTS },
			{ inventory: "inventory/example.yml" },
		),
		kustomize("overlays/dev"),
		renderPinnedRelease(version, DIGEST, POSTGRES_IMAGE),
	]);
	const twice = renderTwice();
	const refusals = Promise.all(
		REFUSED.map((refused) =>
			renderWithAnsible(refused.vars, { allowFailure: true }),
		),
	);
	// A failure is reported by its subtest, not as an unhandled rejection.
	for (const pending of [example, twice, refusals]) pending.catch(() => {});

	t.test("the example inventory renders the example overlays", async (t) => {
		const [rendered, dev, release] = await example;
		t.same(
			Object.keys(rendered.objects).sort(),
			["dev", "production"],
			"both hosts rendered",
		);
		sameObjects(t, rendered.objects.dev ?? [], dev, "dev = overlays/dev");
		// The release overlay leaves Secret sherpany-db-serve to the operator;
		// production makes it from the vault.
		sameObjects(
			t,
			withoutServeSecret(rendered.objects.production ?? []),
			release,
			"production = overlays/release with the release's digests",
		);
		checkServeSecret(t, rendered.objects.production ?? [], {
			namespace: "sherpany",
			password: DEV_VAULT.vault_sherpany_db_serve_password,
		});
	});

	t.test("a second render changes nothing", async (t) => {
		const [first, second] = await twice;
		t.ok((first.changed.localhost ?? 0) > 0, "the first run writes files");
		t.equal(second.changed.localhost, 0, "the second run reports changed=0");
		t.same(second.objects, first.objects, "and renders the same objects");
	});

	t.test("choices that cannot work are refused", async (t) => {
		const results = await refusals;
		for (const [index, refused] of REFUSED.entries()) {
			const { result } = results[index] as (typeof results)[number];
			t.not(result.code, 0, `${refused.label}: the play fails`);
			t.match(result.stdout, refused.message, `${refused.label}: it says why`);
		}
	});
}

/** Renders one choice twice into the same directory. */
async function renderTwice(): Promise<[Rendered, Rendered]> {
	const scratch = await mkdtemp(join(tmpdir(), "sherpany-ansible-twice-"));
	try {
		const options: RenderOptions = { renderDir: join(scratch, "out") };
		const vars = {
			sherpany_database: "external",
			sherpany_database_secret: { uri: "postgres://app:pw@db.example/app" },
			sherpany_database_ca_bundle:
				"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		};
		const first = await renderWithAnsible(vars, options);
		const second = await renderWithAnsible(vars, options);
		return [first, second];
	} finally {
		await rm(scratch, { recursive: true, force: true });
	}
}

function sameObjects(
	t: Test,
	actual: readonly KubeObject[],
	expected: readonly KubeObject[],
	label: string,
): void {
	const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
	t.ok(actual.length > 10, `${label}: objects were rendered`);
	t.same(actual.map(key).sort(), expected.map(key).sort(), `${label}: names`);
	for (const object of expected)
		t.same(
			actual.find((o) => key(o) === key(object)),
			object,
			`${label}: ${key(object)} is identical`,
		);
}
