// Copy buttons, for any page that loads this file (no inline script: the CSP allows none).
// - A code block's: <button class="copy-code" data-copy-target="ID">, copying the text of the
//   element with that id (src/services/markdown/index.ts renders these).
// - A whole reply's: <button data-copy-text-of="#selector">, copying that element's innerText.
// One listener on the document, so buttons that htmx swaps in later work with no re-binding.
;(() => {
  const SHOW_MS = 2000
  const labels = new WeakMap() // a button's own label, kept across quick repeated clicks
  const timers = new WeakMap()

  /** The element a button copies from, or null if the page no longer has it. */
  const sourceOf = (button) => {
    const id = button.getAttribute('data-copy-target')
    if (id) return document.getElementById(id)
    const selector = button.getAttribute('data-copy-text-of')
    try {
      return selector ? document.querySelector(selector) : null
    } catch {
      return null // not a valid selector
    }
  }

  /** Code keeps its exact whitespace (textContent); a reply is copied as it reads (innerText). */
  const textOf = (button, source) => (button.hasAttribute('data-copy-target') ? source.textContent : source.innerText) ?? ''

  /** Shows a short state on the button, then its own label again. */
  const flash = (button, text, ms = SHOW_MS) => {
    if (!labels.has(button)) labels.set(button, button.textContent)
    clearTimeout(timers.get(button))
    button.textContent = text
    timers.set(
      button,
      setTimeout(() => (button.textContent = labels.get(button)), ms),
    )
  }

  /**
   * Without the Clipboard API (it needs a secure context: https or localhost, so not plain http to
   * another host) or when it is refused: the old copy command on a selection of the source. If that
   * fails too, the text stays selected and the button says how to copy it by hand.
   */
  const fallback = (button, source) => {
    const selection = window.getSelection()
    selection?.removeAllRanges()
    selection?.selectAllChildren(source)
    let copied = false
    try {
      copied = document.execCommand('copy')
    } catch {
      copied = false
    }
    if (copied) {
      selection?.removeAllRanges()
      flash(button, 'Copied')
    } else {
      const keys = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘C' : 'Ctrl+C'
      flash(button, `Selected: press ${keys}`, 4000)
    }
  }

  document.addEventListener('click', async (event) => {
    const button = event.target instanceof Element ? event.target.closest('button[data-copy-target], button[data-copy-text-of]') : null
    if (!button) return
    const source = sourceOf(button)
    if (!source) {
      flash(button, 'Nothing to copy')
      return
    }
    const text = textOf(button, source)
    if (!navigator.clipboard?.writeText) {
      fallback(button, source)
      return
    }
    try {
      await navigator.clipboard.writeText(text)
      flash(button, 'Copied')
    } catch {
      fallback(button, source)
    }
  })
})()
