/**
 * How a form's fields were sent, checked before its schema reads their values: a schema sees one
 * value per field and says "expected string, received array" of a field sent twice, which nobody
 * can act on. These checks say what was wrong in words instead.
 */

/**
 * How a form's fields may be sent, beyond what its schema says of their values: each field once,
 * as text on one line, unless named here. `files` may repeat and hold files; `multiline` may hold
 * line breaks and tabs. No field may hold any other control character (NUL, ESC, DEL…).
 */
export type FieldRules = { files?: readonly string[]; multiline?: readonly string[] }

/** C0 controls but tab, line feed and carriage return, and DEL. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/
const LINE_BREAK_OR_TAB = /[\t\n\r]/

/** A field's name as a person reads it: only a plain name is repeated back. */
function label(name: string): string {
  return /^[A-Za-z][\w.-]{0,39}$/.test(name) ? `“${name}”` : 'A field'
}

/** Whether a urlencoded body's percent-encoding is broken (`%E0%A4%A`, `%ZZ`, bytes that are not UTF-8). */
export function brokenUrlencoding(text: string): boolean {
  for (const pair of text.split('&')) {
    for (const part of pair.split('=')) {
      try {
        decodeURIComponent(part.replace(/\+/g, ' '))
      } catch {
        return true
      }
    }
  }
  return false
}

/** The first thing wrong with how the fields were sent, in words; undefined if nothing is. */
export function fieldProblem(entries: Iterable<[string, FormDataEntryValue]>, rules: FieldRules): string | undefined {
  const files = new Set(rules.files ?? [])
  const multiline = new Set(rules.multiline ?? [])
  const seen = new Set<string>()
  for (const [name, value] of entries) {
    if (CONTROL.test(name) || LINE_BREAK_OR_TAB.test(name)) return 'A field’s name holds a control character, so the form cannot be read.'
    if (files.has(name)) continue
    if (seen.has(name)) return `${label(name)} was sent more than once; the form takes it once.`
    seen.add(name)
    if (typeof value !== 'string') return `${label(name)} takes text, not a file.`
    if (CONTROL.test(value)) return `${label(name)} holds a control character (such as NUL), which it cannot take. Remove it and send again.`
    if (!multiline.has(name) && LINE_BREAK_OR_TAB.test(value)) return `${label(name)} is one line: remove the line break or tab and send again.`
  }
  return undefined
}
