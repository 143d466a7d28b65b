/**
 * TLS to PostgreSQL with libpq's rules: which sslmode and root certificates
 * apply, and which combinations are refused before any connection is made.
 *
 * - `verify-ca` and `verify-full` need a root certificate: without one,
 *   libpq refuses to connect, where Node would trust every public CA.
 * - `sslrootcert=system` takes the system's trusted roots, makes
 *   `verify-full` the default and refuses any weaker mode (PostgreSQL 16+):
 *   anyone can get a publicly trusted certificate for a host they control.
 * - A root certificate without an sslmode means `verify-full`, where the
 *   default (`disable`) would leave it unused and the connection in clear.
 * - A minimum mode (`--ssl-mode-min`/`PG_SSLMODE_MIN`) refuses a weaker
 *   sslmode from any source, the URL's included, so a deployment that asked
 *   for verification cannot lose it to a URL parameter unnoticed.
 */

import { errorReason } from "../error-code.ts";
import { ConfigError } from "../exit-codes.ts";
import { parseChoice, type RawSetting, type ReadFile } from "./values.ts";

/** TLS modes with libpq's meaning, weakest first. `prefer` and `allow` are not offered: node-postgres cannot fall back. */
export type SslMode = "disable" | "require" | "verify-ca" | "verify-full";
export const SSL_MODES: readonly SslMode[] = [
	"disable",
	"require",
	"verify-ca",
	"verify-full",
];

/** The `sslrootcert` value that selects the system's trusted roots, as in libpq. */
const SYSTEM_ROOT_CERT = "system";

/** The system's trusted root certificates (PEM), e.g. /etc/ssl/certs on Debian. */
export type ReadSystemRoots = () => readonly string[];

/**
 * The runtime's view of the system store: OpenSSL's default paths, which
 * `SSL_CERT_FILE` and `SSL_CERT_DIR` move. node:tls is fetched only when
 * asked for, to keep it out of every command's start-up.
 */
const readSystemRoots: ReadSystemRoots = () => {
	const tls = process.getBuiltinModule("node:tls") as typeof import("node:tls");
	return tls.getCACertificates("system");
};

/** What the TLS settings are made from; each value keeps its origin for messages. */
export interface TlsInput {
	/** The sslmode, or the default labelled as such. */
	readonly mode: RawSetting;
	/** A CA bundle file, or `system`. */
	readonly rootCert: RawSetting | undefined;
	/** PEM taken over from elsewhere (a replica's from its primary) when `rootCert` is not set. */
	readonly inheritedRootCert?: string | undefined;
	/** The weakest sslmode allowed. */
	readonly minimum: RawSetting | undefined;
}

/** What TLS resolution reads: files, and the system's roots. */
export interface TlsIo {
	readonly readFile: ReadFile;
	readonly systemRoots?: ReadSystemRoots;
}

export interface TlsSettings {
	readonly sslMode: SslMode;
	/** PEM of the root certificates to verify the server with, if any. */
	readonly sslRootCert: string | undefined;
}

/** Resolves sslmode and root certificates; throws ConfigError naming the settings at fault. */
export function resolveTls(input: TlsInput, io: TlsIo): TlsSettings {
	const system = input.rootCert?.value === SYSTEM_ROOT_CERT;
	// A root certificate given with no sslmode is one to verify with: the
	// default (disable) would send everything in plain text beside it.
	const sslMode =
		input.rootCert && input.mode.origin === "default"
			? "verify-full"
			: parseChoice(input.mode, SSL_MODES);
	if (system && sslMode !== "verify-full") {
		throw new ConfigError(
			`${input.rootCert?.origin} is "system", which needs sslmode=verify-full (a public CA signs certificates for any host its customers own), but ${input.mode.origin} is ${sslMode}: set it to verify-full or leave it unset`,
		);
	}
	const sslRootCert = input.rootCert
		? system
			? readSystemBundle(input.rootCert, io.systemRoots ?? readSystemRoots)
			: readCaBundle(input.rootCert, io.readFile)
		: input.inheritedRootCert;
	if (sslRootCert === undefined && isVerifying(sslMode)) {
		throw new ConfigError(
			`${input.mode.origin} is ${sslMode}, which verifies the server's certificate, but no root certificate is set: ${rootCertHint(input.mode.origin)} to your CA bundle's file, or to "system" for a certificate from a public CA`,
		);
	}
	checkMinimum(sslMode, input.mode.origin, input.minimum);
	return { sslMode, sslRootCert };
}

/** True for the modes that check the server's certificate chain. */
function isVerifying(mode: SslMode): boolean {
	return mode === "verify-ca" || mode === "verify-full";
}

/** Parses the minimum sslmode, when one is set. */
export function parseMinimum(raw: RawSetting | undefined): SslMode | undefined {
	return raw ? parseChoice(raw, SSL_MODES) : undefined;
}

/** Throws when `mode` is weaker than the minimum, naming both settings. */
function checkMinimum(
	mode: SslMode,
	modeOrigin: string,
	minimum: RawSetting | undefined,
): void {
	const floor = parseMinimum(minimum);
	if (floor === undefined || rank(mode) >= rank(floor)) return;
	if (modeOrigin === "default")
		throw new ConfigError(
			`no sslmode is set, and the default (${mode}) is weaker than the minimum ${minimum?.origin}=${floor}: add sslmode=${floor} or stronger to the URL, or set PGSSLMODE (or --ssl-mode)`,
		);
	throw new ConfigError(
		`${modeOrigin} is ${mode}, weaker than the minimum ${minimum?.origin}=${floor}: ${modeOrigin.endsWith("(sslmode)") ? "remove sslmode from the URL or set it" : "set it"} to ${floor} or stronger`,
	);
}

function rank(mode: SslMode): number {
	return SSL_MODES.indexOf(mode);
}

/** Where the root certificate goes, beside where the mode was set. */
function rootCertHint(modeOrigin: string): string {
	if (modeOrigin.endsWith("(sslmode)")) {
		const url = modeOrigin.replace(/ \(sslmode\)$/, "");
		return `add sslrootcert=<file> to ${url}, or set --ssl-root-cert or PGSSLROOTCERT,`;
	}
	if (modeOrigin.startsWith("--")) return "pass --ssl-root-cert <file>";
	return "set PGSSLROOTCERT (or --ssl-root-cert)";
}

/** The system's roots as one PEM bundle; an empty store is an error, as no server could be verified. */
function readSystemBundle(
	{ origin }: RawSetting,
	systemRoots: ReadSystemRoots,
): string {
	const roots = systemRoots();
	if (roots.length === 0) {
		throw new ConfigError(
			`${origin} is "system", but this system has no trusted root certificates (install ca-certificates, or set SSL_CERT_FILE): or name a CA bundle file instead`,
		);
	}
	return roots.join("\n");
}

/** Reads a PEM CA bundle file, naming its origin when it is missing or holds no certificate. */
function readCaBundle(
	{ value, origin }: RawSetting,
	readFile: ReadFile,
): string {
	let pem: string;
	try {
		pem = readFile(value);
	} catch (error) {
		throw new ConfigError(
			`${origin}: cannot read CA bundle ${value} (${errorReason(error)})`,
			{ cause: error },
		);
	}
	if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
		throw new ConfigError(`${origin}: ${value} holds no PEM certificate`);
	}
	return pem;
}
