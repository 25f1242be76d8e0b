import { defineConfig } from 'drizzle-kit'

// The PostgreSQL store's migrations (DATABASE_URL=postgres://…); drizzle.config.ts is SQLite's.
// `bun run db:generate` generates both.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/pg/schema.ts',
  out: './src/db/pg/migrations',
})
