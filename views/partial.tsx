import type { Child } from 'hono/jsx'

/**
 * One piece of a streamed response that htmx swaps into `target` (htmx 4's <hx-partial>),
 * so a single event-stream message can update several places on the page.
 */
export function Partial({ target, swap, children }: { target: string; swap: string; children?: Child }) {
  return (
    <hx-partial hx-target={target} hx-swap={swap}>
      {children}
    </hx-partial>
  )
}
