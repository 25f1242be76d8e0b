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
  const files = document.getElementById('files')
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault()
      const hasFiles = Boolean(files && files.files && files.files.length > 0)
      if (!send.disabled && (textarea.value.trim() !== '' || hasFiles)) form.requestSubmit()
    }
  })

  const nearBottom = () => thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120
  const toBottom = () => thread.scrollTo({ top: thread.scrollHeight })

  // Streaming text is followed while the person stays at the bottom of the thread. That is read
  // when they scroll, and the thread scrolled once per frame: reading the layout after every token
  // (as this did) made the browser lay the reply out again per token, most of a long reply's time.
  // Scrolling up stops following; scrolling back down near the bottom starts it again.
  let following = true
  let lastTop = thread.scrollTop
  thread.addEventListener(
    'scroll',
    () => {
      const top = thread.scrollTop
      if (top < lastTop) following = nearBottom()
      else if (!following && nearBottom()) following = true
      lastTop = top
    },
    { passive: true },
  )
  let frameAsked = false
  const followNewest = () => {
    if (frameAsked || !following) return
    frameAsked = true
    requestAnimationFrame(() => {
      frameAsked = false
      if (following) toBottom()
    })
  }

  // While any reply streams (from Send, Regenerate, Retry or Edit) the page is busy: Send is off
  // and the thread's actions are hidden (not removed: the form a stream came from must stay).
  const setBusy = (busy) => {
    document.body.classList.toggle('replying', busy)
    send.disabled = busy
    if (busy) form.setAttribute('aria-busy', 'true')
    else form.removeAttribute('aria-busy')
  }
  const startsReply = (el) => el === form || Boolean(el?.closest?.('#thread-actions'))

  let accepted = false
  document.addEventListener('htmx:before:request', (event) => {
    if (!startsReply(event.target)) return
    accepted = false
    if (error) error.textContent = ''
    setBusy(true)
  })
  // The first streamed message echoes the person's text into the thread: only now is it safe to clear.
  form.addEventListener('htmx:sse:after:message', () => {
    if (!accepted) {
      accepted = true
      textarea.value = ''
      following = true
      toBottom()
    } else {
      followNewest()
    }
  })
  const idle = () => setBusy(false)
  // The reply is finished once no bubble streams any more (the source form of a Regenerate or Edit
  // is replaced by its finished reply, so its own close event never reaches the document).
  document.addEventListener('htmx:after:swap', () => {
    if (document.body.classList.contains('replying') && !thread.querySelector('article[data-status="streaming"]')) idle()
  })
  // A stream that ends before its finished reply arrived (the connection dropped): say so.
  document.addEventListener('htmx:sse:close', (event) => {
    if (!startsReply(event.target)) return
    idle()
    for (const bubble of thread.querySelectorAll('article[data-status="streaming"]')) {
      const status = bubble.querySelector('.msg-status')
      if (status) status.textContent = 'The connection was lost before the reply finished: reload the page to see it.'
      bubble.querySelector('.msg-actions .stop')?.remove()
    }
  })
  document.addEventListener('htmx:after:request', (event) => {
    if (!startsReply(event.target)) return
    // a refused message (422/409) or a failed request: nothing streams, the text stays
    const status = event.detail?.ctx?.response?.status
    if (status && status !== 200) idle()
  })
  document.addEventListener('htmx:error', (event) => {
    if (!startsReply(event.target)) return
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

  // "Custom model ID…" shows its field; a listed model hides it. Refresh models swaps the panel, so
  // the elements are looked up each time.
  const showCustom = () => {
    const model = document.getElementById('model')
    document.querySelector('[data-show-when-custom]')?.toggleAttribute('hidden', model?.value !== 'custom')
  }
  document.addEventListener('change', (event) => {
    if (event.target?.id !== 'model') return
    showCustom()
    if (event.target.value === 'custom') document.getElementById('custom-model-id')?.focus()
  })
  document.addEventListener('htmx:after:swap', showCustom)
  showCustom()

  // Regenerate, Retry and Edit stream into the thread too: keep the newest text in view.
  document.addEventListener('htmx:sse:after:message', (event) => {
    if (event.target !== form) followNewest()
  })

  // On a phone the sidebar's model, settings and credentials fold away behind their summary.
  const more = document.querySelector('.sidebar-more')
  if (more && window.matchMedia('(max-width: 760px)').matches) more.open = false

  // A page loaded while this browser's reply streams (a reload): busy until that reply is done.
  if (send.disabled && thread.querySelector('article[data-status="streaming"]')) document.body.classList.add('replying')

  toBottom()
})()
