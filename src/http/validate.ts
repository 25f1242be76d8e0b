import type { Context } from 'hono'
import { zValidator } from '@hono/zod-validator'
import type { z } from 'zod'
import type { AppEnv } from '../app.ts'

export type Refusal = {
  /** The first problem, in words a person can act on (the schema's own message). */
  message: string
  /** The raw fields as posted, for re-filling the form (never a secret: callers pick fields). */
  fields: Record<string, string>
}

/**
 * zValidator for a form body whose refusal is answered by the route (an HTML fragment or page
 * with status 422) instead of the validator's JSON.
 */
export function validForm<S extends z.ZodType>(schema: S, refuse: (c: Context<AppEnv>, refusal: Refusal) => Response | Promise<Response>) {
  return zValidator('form', schema, async (result, c) => {
    if (result.success) return
    const body = await c.req.parseBody().catch(() => ({}))
    const fields = Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'))
    const message = result.error.issues[0]?.message ?? 'This form cannot be accepted.'
    return refuse(c as unknown as Context<AppEnv>, { message, fields })
  })
}
