import { isLoopback, loadConfigOrExit, type Config } from './config.ts'
import { loadCatalogFile, useCatalogOverrides } from './services/models.ts'

/**
 * What both servers do first: the environment, parsed, and the model catalogue's overrides
 * applied. A bad value stops start-up with one line that names it (exit code 2).
 */
export async function startupConfig(server: 'app' | 'dashboard' = 'app'): Promise<Config> {
  const config = loadConfigOrExit()
  const refusal = exposureRefusal(config, server)
  if (refusal) {
    process.stderr.write(`${refusal}\n`)
    process.exit(2)
  }
  if (config.MODEL_CATALOG_FILE) {
    try {
      useCatalogOverrides(await loadCatalogFile(config.MODEL_CATALOG_FILE))
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`)
      process.exit(2)
    }
  }
  return config
}

/**
 * Why the server must not start as configured, if it must not: listening beyond loopback with no
 * access control would hand the server's AWS credentials and its monitoring to anyone who can
 * reach it. ALLOW_UNAUTHENTICATED=true is the deliberate way past this (warned at every start).
 */
export function exposureRefusal(config: Config, server: 'app' | 'dashboard'): string | undefined {
  if (server === 'dashboard' && config.APP_PASSWORD && !config.AUTH_PROXY_HEADER) {
    return 'bun run dashboard has no sign-in page: with APP_PASSWORD set, use /dashboard of the app (bun start), or set AUTH_PROXY_HEADER to put the dashboard behind your sign-in proxy.'
  }
  if (isLoopback(config.HOST) || config.ALLOW_UNAUTHENTICATED) return undefined
  const guarded = server === 'dashboard' ? config.AUTH_PROXY_HEADER : config.APP_PASSWORD || config.AUTH_PROXY_HEADER
  if (guarded) return undefined
  return `Refusing to listen on ${config.HOST} with no access control: set APP_PASSWORD (a sign-in page) or AUTH_PROXY_HEADER (users named by your sign-in proxy), or ALLOW_UNAUTHENTICATED=true to serve anyone who can reach it.`
}
