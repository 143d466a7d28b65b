/**
 * Choices that Terraform and Ansible must both refuse, each stated once with
 * the variables and the message of either tool, so the two cannot disagree:
 * test/helpers/terraform-cases.ts and test/deploy/ansible-inventory.test.ts
 * run every one.
 *
 * @module
 */

/** One rule: what each tool is given, and what its refusal must say. */
export interface SharedRefusal {
	readonly label: string;
	readonly terraform: {
		readonly variables: Record<string, unknown>;
		readonly message: RegExp;
	};
	readonly ansible: {
		readonly vars: Record<string, unknown>;
		readonly message: RegExp;
	};
}

export const REFUSED_BY_BOTH: readonly SharedRefusal[] = [
	{
		// The operator sets the read-only role's password from Secret
		// sherpany-db-serve but never makes it: without the password, the
		// first install would wait for a Secret made by hand.
		label: "cloudnativepg without the read-only role's password",
		terraform: {
			variables: {
				database: { mode: "cloudnativepg" },
				credentials: { source: "operator" },
			},
			message:
				/database_passwords\s+is\s+required\s+when[\s\S]*database\.mode\s+is\s+cloudnativepg\s+\(serve/,
		},
		ansible: {
			vars: { sherpany_database: "cloudnativepg" },
			message: /needs\s+sherpany_database_secret\.serve-password/,
		},
	},
	{
		// Without the bundle there is nothing to verify the database against,
		// and a connection without verification could be anyone's.
		label: "an external database without a CA bundle",
		terraform: {
			variables: {
				database: { mode: "external" },
				credentials: { source: "existing-secret" },
			},
			// Terraform wraps its messages: any run of spaces may be a line break.
			message:
				/database\.mode\s+external\s+needs\s+database\.ca_bundle\s+\(PEM\)[\s\S]*sslmode=verify-full/,
		},
		ansible: {
			vars: {
				sherpany_database: "external",
				sherpany_database_secret: { uri: "postgres://x" },
			},
			message:
				/sherpany_database=external\s+needs\s+sherpany_database_ca_bundle\s+\(PEM\)[\s\S]*sslmode=verify-full/,
		},
	},
];
