import type { Context, Env } from 'hono'
import { zValidator } from '@hono/zod-validator'
import type { z } from 'zod'
import type { AppEnv } from './env.ts'

export type Refusal = {
  /** The first problem, in words a person can act on (the schema's own message). */
  message: string
  /** The raw text fields as posted, for re-filling the form (never a secret: callers pick fields). */
  fields: Record<string, string>
}

function firstProblem(error: Pick<z.ZodError, 'issues'>, fallback: string): string {
  return error.issues[0]?.message ?? fallback
}

/**
 * zValidator for a form body whose refusal is answered by the route (an HTML fragment or page
 * with status 422) instead of the validator's JSON. The handler reads `c.req.valid('form')`.
 */
export function validForm<S extends z.ZodType, E extends Env = AppEnv>(schema: S, refuse: (c: Context<E>, refusal: Refusal) => Response | Promise<Response>) {
  return zValidator('form', schema, async (result, c) => {
    if (result.success) return
    const body = await c.req.parseBody().catch(() => ({}))
    const fields = Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'))
    // the hook's context is the route's own: the validator runs after the route's middleware
    return refuse(c as unknown as Context<E>, { message: firstProblem(result.error, 'This form cannot be accepted.'), fields })
  })
}

/**
 * zValidator for a query string: a bad value is answered by the route (status 400) with the
 * parameter's name and the schema's message. The handler reads `c.req.valid('query')`.
 */
export function validQuery<S extends z.ZodType, E extends Env = AppEnv>(schema: S, refuse: (c: Context<E>, message: string) => Response | Promise<Response>) {
  return zValidator('query', schema, (result, c) => {
    if (result.success) return
    const issue = result.error.issues[0]
    return refuse(c as unknown as Context<E>, issue ? `${issue.path.join('.') || 'query'}: ${issue.message}` : 'The address is not understood.')
  })
}
