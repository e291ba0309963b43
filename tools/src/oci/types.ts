/**
 * Shapes shared by the OCI client (registry-client, pull, push, layout) and the reference and
 * credential modules. Kept apart so either side can be written without the other.
 */
import type { Digest } from "../util/digest.ts";

/** host[:port]/repo[:tag][@sha256:...] after Docker Hub normalisation. */
export interface RegistryReference {
  kind: "registry";
  /** As used for HTTP and credentials: "registry-1.docker.io" for Docker Hub, else host[:port]. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: Digest;
}

/** oci-layout:<dir>[:tag|@digest] */
export interface LayoutReference {
  kind: "layout";
  dir: string;
  tag?: string;
  digest?: Digest;
}

export type Reference = RegistryReference | LayoutReference;

/**
 * A credential as resolved at execution time. Never stored in any output, provider or log;
 * every secret field is passed to registerSecret() by whoever reads it.
 */
export type Credential =
  /** Username and password (htpasswd, Docker config `auth`, env user/password, OAuth2 client id/secret). */
  | { kind: "basic"; username: string; password: string }
  /**
   * A token from env or a file (GITHUB_TOKEN, a service-account token). Sent as the password of
   * Basic auth to a Bearer realm (username defaults to "token"), or directly as
   * `Authorization: Bearer` when the registry challenges Bearer and the realm refuses it.
   */
  | { kind: "token"; token: string; username?: string }
  /** Docker config `identitytoken`: an OAuth2 refresh token for the realm (grant_type=refresh_token). */
  | { kind: "refresh"; refreshToken: string; username?: string };

export interface CredentialResult {
  credential: Credential | undefined;
  /** Describes where it came from, e.g. "env WKG_REGISTRY_GHCR_IO_AUTH_BEARER"; never the secret. */
  source: string | undefined;
  /** Every source consulted, in order, for "401: tried ..." messages. Never secrets. */
  tried: string[];
}
