/**
 * Which link targets a rendered reply may carry. Model output is untrusted, so this is an
 * allowlist, not a list of bad schemes: an absolute http, https or mailto URL, nothing else.
 * Relative links are refused too: a reply has no business pointing at this app's own routes.
 */

const ALLOWED_PROTOCOLS = new Set(['http:', 'https:', 'mailto:'])

/**
 * Parsed with the WHATWG URL parser, the one browsers use, so the tricks that fool string checks
 * (`jav\tascript:`, leading control characters, mixed case) are resolved exactly as a browser
 * would resolve them before the scheme is compared. Anything that does not parse as an absolute
 * URL is refused.
 */
export function isAllowedUrl(url: string): boolean {
  if (!URL.canParse(url)) return false
  return ALLOWED_PROTOCOLS.has(new URL(url).protocol)
}

/** Text for `&`, `<`, `>`, `"` and `'`: safe in element content and in quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!)
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
