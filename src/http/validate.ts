import type { Context, Env } from 'hono'
import { zValidator } from '@hono/zod-validator'
import type { z } from 'zod'
import type { AppEnv } from './env.ts'
import { brokenUrlencoding, fieldProblem, type FieldRules } from './form-shape.ts'
import { renderErrorPage } from './render.tsx'

export type Refusal = {
  /** The first problem, in words a person can act on (the schema's own message). */
  message: string
  /** The raw text fields as posted, for re-filling the form (never a secret: callers pick fields). */
  fields: Record<string, string>
}

function firstProblem(error: Pick<z.ZodError, 'issues'>, fallback: string): string {
  return error.issues[0]?.message ?? fallback
}

function textFields(form: FormData): Record<string, string> {
  return Object.fromEntries([...form].filter((e): e is [string, string] => typeof e[1] === 'string'))
}

/**
 * The posted form, read once (Hono caches it for the validator), or undefined if it cannot be
 * read: a broken percent-encoding, or a multipart body that is not. A post with no form body
 * (formBody let it through empty) is an empty form.
 */
async function readForm(c: Context): Promise<FormData | undefined> {
  const contentType = c.req.header('Content-Type') ?? ''
  const type = contentType.split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded' && type !== 'multipart/form-data') return new FormData()
  try {
    const bytes = await c.req.arrayBuffer()
    if (type === 'application/x-www-form-urlencoded' && brokenUrlencoding(new TextDecoder().decode(bytes))) return undefined
    // parsed once: Hono's validator takes the form from the body cache (where it keeps a promise)
    const parsed = new Response(bytes, { headers: { 'Content-Type': contentType } }).formData()
    c.req.bodyCache.formData = parsed as unknown as FormData
    return await parsed
  } catch {
    return undefined
  }
}

/**
 * zValidator for a form body whose refusal is answered by the route (an HTML fragment or page
 * with status 422) instead of the validator's JSON. The handler reads `c.req.valid('form')`.
 * Before the schema, how the fields were sent is checked (`rules`, see FieldRules): a field sent
 * twice, a file where text goes, or a control character is refused by the route the same way, in
 * words. A body that cannot be read at all is a 400.
 */
export function validForm<S extends z.ZodType, E extends Env = AppEnv>(
  schema: S,
  refuse: (c: Context<E>, refusal: Refusal) => Response | Promise<Response>,
  rules: FieldRules = {},
) {
  const validate = zValidator('form', schema, async (result, c) => {
    if (result.success) return
    const body = await c.req.parseBody().catch(() => ({}))
    const fields = Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'))
    // the hook's context is the route's own: the validator runs after the route's middleware
    return refuse(c as unknown as Context<E>, { message: firstProblem(result.error, 'This form cannot be accepted.'), fields })
  })
  const checked: typeof validate = async (c, next) => {
    const form = await readForm(c)
    if (!form) return renderErrorPage(c, 400, 'The form could not be read', 'Its encoding is broken, so nothing in it was used. Send it again from the page.')
    const problem = fieldProblem(form, rules)
    if (problem) return refuse(c as unknown as Context<E>, { message: problem, fields: textFields(form) })
    return validate(c, next)
  }
  return checked
}

/**
 * zValidator for a query string: a bad value is answered by the route (status 400) with the
 * parameter's name and the schema's message. The handler reads `c.req.valid('query')`. A
 * parameter given twice is named as such, not as "expected string, received array".
 */
export function validQuery<S extends z.ZodType, E extends Env = AppEnv>(schema: S, refuse: (c: Context<E>, message: string) => Response | Promise<Response>) {
  return zValidator('query', schema, (result, c) => {
    if (result.success) return
    const issue = result.error.issues[0]
    const name = issue?.path.join('.')
    if (name && (c.req.queries(name)?.length ?? 0) > 1) return refuse(c as unknown as Context<E>, `${name}: given more than once; the address takes it once.`)
    return refuse(c as unknown as Context<E>, issue ? `${name || 'query'}: ${issue.message}` : 'The address is not understood.')
  })
}
