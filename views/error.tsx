import { Layout } from './layout.tsx'

export function ErrorPage({ title, detail }: { title: string; detail: string }) {
  return (
    <Layout title={title}>
      <main class="error-page">
        <h1>{title}</h1>
        <p>{detail}</p>
        <p>
          <a href="/">Back to the chat</a>
        </p>
      </main>
    </Layout>
  )
}
