// The chat page's only script: keyboard sending, clearing the composer once a message is
// accepted, keeping the newest reply in view, and the busy state while a reply streams.
;(() => {
  const form = document.getElementById('composer')
  const textarea = document.getElementById('message')
  const send = document.getElementById('send')
  const thread = document.getElementById('thread')
  const error = document.getElementById('composer-error')
  if (!form || !textarea || !send || !thread) return

  // Enter sends, Shift+Enter is a new line (and nothing happens mid-composition, e.g. for IME input).
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault()
      if (!send.disabled && textarea.value.trim() !== '') form.requestSubmit()
    }
  })

  const nearBottom = () => thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120
  const toBottom = () => thread.scrollTo({ top: thread.scrollHeight })

  let accepted = false
  form.addEventListener('htmx:before:request', () => {
    accepted = false
    if (error) error.textContent = ''
    send.disabled = true
    form.setAttribute('aria-busy', 'true')
  })
  // The first streamed message echoes the person's text into the thread: only now is it safe to clear.
  form.addEventListener('htmx:sse:after:message', () => {
    if (!accepted) {
      accepted = true
      textarea.value = ''
      toBottom()
    } else if (nearBottom()) {
      toBottom()
    }
  })
  const idle = () => {
    send.disabled = false
    form.removeAttribute('aria-busy')
  }
  form.addEventListener('htmx:sse:close', idle)
  form.addEventListener('htmx:after:request', (event) => {
    // a refused message (422/409) or a failed request: nothing streams, the text stays
    const status = event.detail?.ctx?.response?.status
    if (status && status !== 200) idle()
  })
  form.addEventListener('htmx:error', () => {
    idle()
    if (error && !error.textContent) error.textContent = 'The server could not be reached. Your message is still here: try again.'
  })
  // A new chat gets its own address once its first message is stored: the page follows it.
  const followConversation = () => {
    const meta = document.getElementById('conversation-meta')
    if (!meta) return
    const { url, post } = meta.dataset
    if (url && location.pathname !== url) history.replaceState(null, '', url)
    if (post && form.getAttribute('hx-post') !== post) {
      form.setAttribute('hx-post', post)
      form.setAttribute('action', post)
    }
  }
  document.addEventListener('htmx:after:swap', followConversation)

  // "Custom model ID…" shows its field; a listed model hides it.
  const model = document.getElementById('model')
  const custom = document.querySelector('[data-show-when-custom]')
  const showCustom = () => custom?.toggleAttribute('hidden', model?.value !== 'custom')
  model?.addEventListener('change', () => {
    showCustom()
    if (model.value === 'custom') document.getElementById('custom-model-id')?.focus()
  })
  showCustom()

  // Regenerate, Retry and Edit stream into the thread too: keep the newest text in view.
  document.addEventListener('htmx:sse:after:message', (event) => {
    if (event.target !== form && nearBottom()) toBottom()
  })

  toBottom()
})()
