// What Bedrock refuses of a request for a given model, beyond the shape every Converse request has:
// sampling parameters and thinking, as Claude's models answer them through Converse. The emulator's
// own table (it imports nothing from the app), written from Bedrock's documentation and the
// messages Bedrock returns.

/** A Claude model's generation, read from its id (any profile prefix, version or ARN). */
export function claudeVersion(modelId: string): { family: string; major: number; minor: number } | null {
  const match = /claude-(opus|sonnet|haiku)-(\d)(?:-(\d)(?!\d))?/.exec(modelId.toLowerCase())
  if (!match) return null
  return { family: match[1]!, major: Number(match[2]), minor: Number(match[3] ?? 0) }
}

const atLeast = (v: { major: number; minor: number }, major: number, minor: number) => v.major > major || (v.major === major && v.minor >= minor)

/** Largest maxTokens a model takes: 128K for Claude Opus 4.6 and later, Sonnet 4.6; 64K otherwise. */
export function maxTokensLimit(modelId: string): number {
  const v = claudeVersion(modelId)
  return v && atLeast(v, 4, 6) && v.family !== 'haiku' ? 128_000 : 64_000
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The ValidationException message for a request the model refuses, or null:
 * - Claude Opus 4.7 and later: no `temperature`, no `top_p`, and only adaptive thinking;
 * - Claude Opus 4.1 and the 4.5 and 4.6 models: `temperature` or `top_p`, never both;
 * - any Claude model that thinks: a temperature of 1 or none;
 * - adaptive thinking only on Claude 4.6 and later.
 */
export function modelRuleProblem(modelId: string, body: unknown): string | null {
  const v = claudeVersion(modelId)
  if (!v || !isRecord(body)) return null
  const config = isRecord(body.inferenceConfig) ? body.inferenceConfig : {}
  const extra = isRecord(body.additionalModelRequestFields) ? body.additionalModelRequestFields : {}
  const thinking = isRecord(extra.thinking) ? extra.thinking : null
  const hasTemperature = config.temperature !== undefined || extra.temperature !== undefined
  const hasTopP = config.topP !== undefined || extra.top_p !== undefined
  const adaptiveOnly = v.family === 'opus' && atLeast(v, 4, 7)
  if (adaptiveOnly && hasTemperature) return '`temperature` is deprecated for this model.'
  if (adaptiveOnly && hasTopP) return '`top_p` is deprecated for this model.'
  if (adaptiveOnly && thinking && thinking.type !== 'adaptive') {
    return `thinking.type.${String(thinking.type)} is not supported for this model. Use thinking.type.adaptive and output_config.effort to control thinking behavior.`
  }
  if (thinking?.type === 'adaptive' && !atLeast(v, 4, 6)) {
    return 'thinking.type.adaptive is not supported for this model. Use thinking.type.enabled with budget_tokens instead.'
  }
  const oneSampler = atLeast(v, 4, 5) || (v.family === 'opus' && atLeast(v, 4, 1))
  if (oneSampler && hasTemperature && hasTopP) return '`temperature` and `top_p` cannot both be specified for this model. Please use only one.'
  const temperature = config.temperature ?? extra.temperature
  if (thinking && (thinking.type === 'enabled' || thinking.type === 'adaptive') && temperature !== undefined && temperature !== 1) {
    return '`temperature` may only be set to 1 when thinking is enabled or in adaptive mode.'
  }
  return null
}
