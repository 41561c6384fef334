import type { CryptoKey, JWK } from 'jose';

/** A person who may sign in at the local issuer. */
export interface IssuerUser {
  sub: string;
  /** The display name the issuer puts in access tokens (`name` claim), if any. */
  name?: string;
  /** The mlops scopes this person may be granted. */
  scopes: string[];
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export interface IssuerOptions {
  /** The resource identifier of the mlops-mcp it mints tokens for (<public URL>/mcp). */
  resource: string;
  users: IssuerUser[];
  /** Default: a free one. */
  port?: number;
  /** `opaque`: access tokens for the resource are opaque (checked by introspection); default jwt. */
  tokenFormat?: 'jwt' | 'opaque';
  /** Lets web pages register clients (CORS on the registration endpoint, which oidc-provider does not send by itself). */
  registrationFromBrowsers?: boolean;
  /** Public clients registered beforehand (PKCE, no secret), by id and redirect URI. */
  publicClients?: Array<{ client_id: string; redirect_uri: string }>;
  accessTokenTtlSeconds?: number;
}

export interface LocalIssuer {
  /** The issuer identifier (http://127.0.0.1:<port>), also its base URL. */
  url: string;
  users: Map<string, IssuerUser>;
  /** Who the next sign-in is. */
  signInAs: string;
  /** The key tokens are signed with now. */
  signingKey(): SigningKey;
  /** A new signing key, published first and signing from now on; the old one stays published when `keepOld`, else it is withdrawn. */
  rotateKeys(options?: { keepOld?: boolean }): Promise<SigningKey>;
  /** An access token from the token endpoint by client credentials (the robot client). */
  clientCredentialsToken(resource: string, scope: string): Promise<string>;
  close(): Promise<void>;
}

export const MLOPS_SCOPES: string[];
export const OTHER_RESOURCE: string;
export const ROBOT: { client_id: string; client_secret: string };
export const INTROSPECTOR: { client_id: string; client_secret: string };
export const PEOPLE: IssuerUser[];
export function startIssuer(options: IssuerOptions): Promise<LocalIssuer>;
