import { secureHeaders } from 'hono/secure-headers'

/**
 * Strict headers for every response: scripts only from this origin (no inline script, so model
 * output can never run), no framing, no referrer leaks.
 */
export function securityHeaders() {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      // htmx 4 adds its indicator styles as a constructed stylesheet, which CSP allows
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      frameAncestors: ["'none'"],
      formAction: ["'self'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
    },
    referrerPolicy: 'same-origin',
    crossOriginEmbedderPolicy: false,
  })
}
