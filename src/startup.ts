import { loadConfigOrExit, type Config } from './config.ts'
import { loadCatalogFile, useCatalogOverrides } from './services/models.ts'

/**
 * What both servers do first: the environment, parsed, and the model catalogue's overrides
 * applied. A bad value stops start-up with one line that names it (exit code 2).
 */
export async function startupConfig(): Promise<Config> {
  const config = loadConfigOrExit()
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
