// Guardrails: a request's guardrailConfig, and what an intervention answers ([[guardrail]]).

/** What the emulator's guardrail says in the answer's place, like a guardrail's blocked messaging. */
export const GUARDRAIL_BLOCKED_MESSAGE = 'Sorry, the model cannot answer this question. [emulated guardrail]'

/** The stop reason of an answer the guardrail blocked. */
export const GUARDRAIL_STOP_REASON = 'guardrail_intervened'

/**
 * The guardrail a request asked for, as `identifier:version` (null when it carried no
 * guardrailConfig), or Bedrock-like ValidationException words when the config is incomplete.
 */
export function guardrailOf(body: unknown): { guardrail: string | null; problem: string | null } {
  const config = body && typeof body === 'object' ? (body as { guardrailConfig?: unknown }).guardrailConfig : undefined
  if (config === undefined || config === null) return { guardrail: null, problem: null }
  const { guardrailIdentifier: id, guardrailVersion: version, streamProcessingMode: mode } = config as Record<string, unknown>
  if (typeof id !== 'string' || id === '')
    return {
      guardrail: null,
      problem: "1 validation error detected: Value null at 'guardrailConfig.guardrailIdentifier' failed to satisfy constraint: Member must not be null",
    }
  if (typeof version !== 'string' || !/^([1-9]\d{0,7}|DRAFT)$/.test(version)) {
    return {
      guardrail: null,
      problem: `1 validation error detected: Value '${String(version)}' at 'guardrailConfig.guardrailVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))`,
    }
  }
  if (mode !== undefined && mode !== 'sync' && mode !== 'async') {
    return {
      guardrail: null,
      problem: `1 validation error detected: Value '${String(mode)}' at 'guardrailConfig.streamProcessingMode' failed to satisfy constraint: Member must satisfy enum value set: [sync, async]`,
    }
  }
  return { guardrail: `${id}:${version}`, problem: null }
}
