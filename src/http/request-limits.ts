/**
 * What any request to either server may be, before a route reads it: the address and the head.
 * (What a form's body may hold is the chat's own: FORM_LIMITS and BODY_LIMITS in forms.ts.) A
 * request over a limit is refused with a page that says which, never passed on to break something
 * further in (a path too long for the file system, a control character in a file name).
 */
export const REQUEST_LIMITS = {
  /**
   * Characters of the path, as sent (percent-encoded). The app's own addresses are a few dozen
   * characters; this stays well below PATH_MAX (4,096), which the static file lookup would
   * otherwise hit and throw on.
   */
  pathLength: 2048,
  /**
   * Characters of the query string, as sent. The longest the app writes is the sign-in page's
   * `next`: a path of up to 2,048 characters, encoded once more.
   */
  queryLength: 8192,
  /**
   * Bytes of all the request's header lines together. Bun refuses a request head over 16 KiB
   * itself, with a bare 431 and no page; below that, this limit answers with one that says what to
   * do (usually: clear this site's cookies). Browsers keep a site's cookies well inside it.
   */
  headerBytes: 12 * 1024,
} as const
