import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { Conversation } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { renderErrorPage } from '../http/render.tsx'

/** A route under /c/:id, with the URL's conversation loaded (this browser's own). */
export type ConversationEnv = AppEnv & { Variables: { conversation: Conversation } }

/** A route where `/c/new/…` is a chat not saved yet: the conversation is null there. */
export type ConversationOrNewEnv = AppEnv & { Variables: { conversation: Conversation | null } }

/** The answer for a conversation that is not this browser's, or is gone (also when it went during a request). */
export function conversationNotFound(c: Context) {
  return renderErrorPage(c, 404, 'Conversation not found', 'There is no such conversation in this browser. It may have been deleted.')
}

/**
 * Loads the conversation named by the URL's `:id` once, for this browser only, and answers the
 * 404 once: another browser's conversation and a deleted one look the same, not found.
 */
export function urlConversation() {
  return createMiddleware<ConversationEnv>(async (c, next) => {
    const found = await c.var.deps.conversations.get(c.var.session.owner, c.req.param('id') ?? '')
    if (!found) return conversationNotFound(c)
    c.set('conversation', found)
    await next()
  })
}

/** As urlConversation, but `new` passes as null: where a first message creates the conversation. */
export function urlConversationOrNew() {
  return createMiddleware<ConversationOrNewEnv>(async (c, next) => {
    const id = c.req.param('id') ?? ''
    if (id === 'new') {
      c.set('conversation', null)
      return next()
    }
    const found = await c.var.deps.conversations.get(c.var.session.owner, id)
    if (!found) return conversationNotFound(c)
    c.set('conversation', found)
    await next()
  })
}
