import { Layout } from './layout.tsx'

/** Delete without JavaScript: say what will go, and ask once. */
export function ConfirmDeletePage({ id, title }: { id: string; title: string }) {
  return (
    <Layout title="Delete conversation?">
      <main class="error-page">
        <h1>Delete “{title}”?</h1>
        <p>The conversation and all its messages and files are deleted. This cannot be undone.</p>
        <form method="post" action={`/c/${id}/delete`}>
          <button type="submit" class="danger">
            Delete conversation
          </button>{' '}
          <a href={`/c/${id}`}>Cancel</a>
        </form>
      </main>
    </Layout>
  )
}
