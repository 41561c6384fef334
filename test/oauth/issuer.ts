/**
 * The tests' authorization server: the local issuer of tools/oauth-issuer.mjs (oidc-provider on
 * loopback), the one docs/operations.md has people try sign-in with.
 */
export { INTROSPECTOR, MLOPS_SCOPES, OTHER_RESOURCE, PEOPLE, ROBOT, startIssuer } from '../../tools/oauth-issuer.mjs';
export type { IssuerUser as TestUser, LocalIssuer as TestIssuer, SigningKey } from '../../tools/oauth-issuer.mjs';
