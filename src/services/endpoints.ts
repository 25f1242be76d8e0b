/**
 * Endpoint URLs as people may see them. An endpoint override can carry a user name and password
 * (http://user:pass@proxy:8080); the SDK still connects with them, but the error text a browser
 * sees, the log and the database get the URL without them.
 */

/** `scheme://` then the userinfo: everything up to the last `@` before the host ends (/ ? # or a space). */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'<>]*@/gi

/** The endpoint as shown or logged: the same text, less any `user:password@`. */
export function displayEndpoint(url: string): string
export function displayEndpoint(url: string | undefined): string | undefined
export function displayEndpoint(url: string | undefined): string | undefined {
  return url === undefined ? undefined : withoutUserinfo(url)
}

/** Any text (an SDK error message, say) with the userinfo of every URL in it removed. */
export function withoutUserinfo(text: string): string {
  return text.replace(USERINFO, '$1')
}

/**
 * The password an endpoint URL carries, as written and percent-decoded (the form the SDK sends),
 * for the logger's list of secrets: it then masks the password even where no URL surrounds it.
 */
export function endpointPasswords(url: string | undefined): string[] {
  if (!url) return []
  try {
    const raw = new URL(url).password
    if (!raw) return []
    let decoded = raw
    try {
      decoded = decodeURIComponent(raw)
    } catch {}
    return [...new Set([raw, decoded])]
  } catch {
    return []
  }
}
