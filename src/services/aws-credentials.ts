/**
 * What a browser saves in the sidebar, and how every AWS client of ours (the runtime's in
 * chat/bedrock.ts, the control plane's in discovery/control-plane.ts) is given exactly that
 * credential, or the server's own when the browser gave none. A leaf: no SDK import, so both
 * clients share one rule.
 */

/** A browser's access keys: its calls are signed with SigV4. */
export type AccessKeys = { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
/** A browser's Bedrock API key: its calls send it as a bearer token (`Authorization: Bearer …`). */
export type ApiKey = { apiKey: string }
/** What a browser saved in the sidebar: one or the other, never both. */
export type Credentials = AccessKeys | ApiKey

export function isApiKey(credentials: Credentials): credentials is ApiKey {
  return 'apiKey' in credentials
}

/**
 * A client's authentication settings. Every client names its auth scheme, so the environment
 * never chooses it: left to itself the SDK puts httpBearerAuth first whenever
 * AWS_BEARER_TOKEN_BEDROCK is set, and a browser's calls then carried the server's API key
 * instead of their own signature. A client for access keys signs with them (SigV4); a client for
 * an API key (the browser's, or the server's when the browser gave none) gets that key as its
 * `token`, prefers httpBearerAuth, and has no server credentials at all.
 */
export function clientAuth<S>(credentials: Credentials | undefined, server: { credentials?: S; bearerToken?: string }) {
  const bearer = credentials ? (isApiKey(credentials) ? credentials.apiKey : undefined) : server.bearerToken
  const keys: AccessKeys | S | undefined = credentials ? (isApiKey(credentials) ? undefined : credentials) : server.credentials
  return {
    credentials: keys,
    token: bearer ? { token: bearer } : undefined,
    authSchemePreference: bearer ? ['httpBearerAuth'] : ['sigv4'],
  }
}

/**
 * One client per region for the server's credentials, and per saved credentials for a browser's
 * (kept as long as the browser's credentials object lives).
 */
export function clientsByCredentials<C>(make: (region: string, credentials?: Credentials) => C) {
  const serverClients = new Map<string, C>()
  const browserClients = new WeakMap<Credentials, Map<string, C>>()
  return (region: string, credentials?: Credentials): C => {
    const cache = credentials ? (browserClients.get(credentials) ?? browserClients.set(credentials, new Map()).get(credentials)!) : serverClients
    let client = cache.get(region)
    if (!client) {
      client = make(region, credentials)
      cache.set(region, client)
    }
    return client
  }
}
