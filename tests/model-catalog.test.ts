import { afterEach, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { catalog, loadCatalogFile, useCatalogOverrides } from '../src/services/models.ts'
import { costFor, priceFor } from '../src/services/models.ts'
import { listedModels, modelInfo } from '../src/services/models.ts'

const ROOT = join(import.meta.dir, '..')
afterEach(() => useCatalogOverrides([]))

describe('the model catalogue', () => {
  test('offers Claude first, with names, context windows and prices', () => {
    const listed = listedModels()
    expect(listed[0]!.name).toStartWith('Claude')
    expect(listed.some((m) => m.id.startsWith('us.amazon.nova'))).toBe(true)
    expect(listed.some((m) => m.id.includes('llama'))).toBe(true)
    expect(listed.some((m) => m.id.startsWith('mistral.'))).toBe(true)
    for (const m of catalog()) {
      expect(m.contextWindow).toBeGreaterThan(0)
      expect(priceFor(m.id)).not.toBeNull()
    }
  })

  test('knows a model by its profile id, base id or ARN, and guesses conservatively for others', () => {
    expect(modelInfo('anthropic.claude-sonnet-4-5-20250929-v1:0').name).toBe('Claude Sonnet 4.5')
    expect(modelInfo('arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc').known).toBe(false)
    expect(modelInfo('my.custom-model').contextWindow).toBe(128_000)
  })

  test("today's Claude models are known by their Bedrock ids, profiles and ARNs, with limits, prices and request rules", () => {
    const cases = [
      ['anthropic.claude-sonnet-4-6', 'Claude Sonnet 4.6', 0.003, 0.015],
      ['us.anthropic.claude-opus-4-6-v1', 'Claude Opus 4.6', 0.005, 0.025],
      ['eu.anthropic.claude-opus-4-7', 'Claude Opus 4.7', 0.005, 0.025],
      ['arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-opus-4-8', 'Claude Opus 4.8', 0.005, 0.025],
      ['global.anthropic.claude-haiku-4-5-20251001-v1:0', 'Claude Haiku 4.5', 0.001, 0.005],
    ] as const
    for (const [id, name, input, output] of cases) {
      const info = modelInfo(id)
      expect({ id, name: info.name, known: info.known }).toEqual({ id, name, known: true })
      expect(info.contextWindow).toBeGreaterThanOrEqual(200_000)
      const geo = id.startsWith('us.') || id.startsWith('eu.') ? 1.1 : 1
      expect(priceFor(id)!.inputPer1k).toBeCloseTo(input * geo, 10)
      expect(priceFor(id)!.outputPer1k).toBeCloseTo(output * geo, 10)
    }
    expect(modelInfo('global.anthropic.claude-opus-4-7')).toMatchObject({ sampling: 'none', thinking: 'adaptive', thinkingByDefault: true, maxOutput: 128_000 })
    expect(modelInfo('global.anthropic.claude-sonnet-4-6')).toMatchObject({ sampling: 'one', thinking: 'adaptive', thinkingByDefault: false })
    expect(modelInfo('us.anthropic.claude-sonnet-4-5-20250929-v1:0')).toMatchObject({ sampling: 'one', thinking: 'budget' })
    expect(modelInfo('us.amazon.nova-pro-v1:0')).toMatchObject({ sampling: 'both', thinking: 'none', images: true })
    expect(modelInfo('my.custom-model')).toMatchObject({ known: false, thinking: 'none', sampling: 'both' })
    expect(listedModels()[0]!.name).toBe('Claude Sonnet 4.6')
  })

  test('cost arithmetic: tokens times the price per 1,000, with the geographic profile premium', () => {
    expect(costFor('global.anthropic.claude-sonnet-4-5-20250929-v1:0', 1000, 1000)).toBeCloseTo(0.018, 10)
    expect(costFor('us.anthropic.claude-sonnet-4-5-20250929-v1:0', 1000, 1000)).toBeCloseTo(0.0198, 10)
    expect(costFor('us.amazon.nova-lite-v1:0', 2_000_000, 500_000)).toBeCloseTo(0.12 + 0.12, 10)
    expect(costFor('unknown.model', 1000, 1000)).toBeNull()
  })

  test('an override file replaces and adds entries', async () => {
    const file = `/tmp/catalog-${crypto.randomUUID()}.json`
    await Bun.write(
      file,
      JSON.stringify([
        { id: 'us.amazon.nova-lite-v1:0', name: 'Nova Lite (negotiated)', contextWindow: 300000, maxOutput: 10000, inputPer1k: 0.00003, outputPer1k: 0.0001 },
        { id: 'my.private-model-v1:0', name: 'Our fine-tune', contextWindow: 32000, maxOutput: 4000, inputPer1k: 0.01, outputPer1k: 0.02 },
        // the older form of `thinking` (a boolean) still reads
        { id: 'my.thinker-v1:0', name: 'Thinks', contextWindow: 32000, maxOutput: 8000, thinking: true, sampling: 'none' },
      ]),
    )
    useCatalogOverrides(await loadCatalogFile(file))
    expect(modelInfo('us.amazon.nova-lite-v1:0').name).toBe('Nova Lite (negotiated)')
    expect(priceFor('us.amazon.nova-lite-v1:0')).toEqual({ inputPer1k: 0.00003, outputPer1k: 0.0001 })
    expect(listedModels().map((m) => m.name)).toContain('Our fine-tune')
    expect(modelInfo('my.thinker-v1:0')).toMatchObject({ thinking: 'budget', sampling: 'none' })
  })

  test('a bad override file stops start-up with a line naming it', async () => {
    const file = `/tmp/catalog-${crypto.randomUUID()}.json`
    await Bun.write(file, JSON.stringify([{ id: 'x.y', name: 'No window' }]))
    const proc = Bun.spawn(['bun', 'src/index.ts'], {
      cwd: ROOT,
      env: { ...process.env, MODEL_CATALOG_FILE: file, PORT: '0', METRICS_DB_PATH: `/tmp/never-${crypto.randomUUID()}/m.db` },
      stderr: 'pipe',
      stdout: 'pipe',
    })
    expect(await proc.exited).toBe(2)
    expect(await new Response(proc.stderr).text()).toMatch(/^MODEL_CATALOG_FILE .*: entry 0\.contextWindow .+\n$/)
  })
})
