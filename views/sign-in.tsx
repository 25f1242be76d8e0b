import { Layout } from './layout.tsx'

export type SignInView = {
  /** Where to go once signed in (a path on this site). */
  next: string
  error?: string
}

/** The one page a visitor who has not signed in sees (with APP_PASSWORD set). */
export function SignInPage({ next, error }: SignInView) {
  return (
    <Layout title="Sign in · Bedrock Chat">
      <main class="sign-in">
        <h1>Bedrock Chat</h1>
        <form method="post" action="/signin" class="panel">
          <p id="sign-in-error" class="form-error" role="alert">
            {error}
          </p>
          <input type="hidden" name="next" value={next} />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required autofocus />
          <button type="submit">Sign in</button>
        </form>
      </main>
    </Layout>
  )
}

/** "Sign out" in the sidebar: a plain form, so it works without JavaScript. */
export function SignOutForm() {
  return (
    <form method="post" action="/signout" class="sign-out">
      <button type="submit" class="secondary">
        Sign out
      </button>
    </form>
  )
}
