import { describe, expect, test } from 'bun:test'
import { classifyError, profileFor } from '../src/services/chat/errors.ts'
import { browser, makeApp, type TestApp, unescapeHtml, unique, useApp } from './helpers.ts'

let t: TestApp
useApp((app) => {
  t = app
})

/** The text of the error shown in the reply's bubble (the last assistant message of the answer). */
function errorOf(body: string): string {
  const bubble = body.match(/<article class="msg assistant (\w+)"[\s\S]*?<\/article>/g)?.at(-1) ?? ''
  return unescapeHtml(bubble.match(/<p class="msg-error" role="alert">([\s\S]*?)<\/p>/)?.[1] ?? '')
}

describe('errors that say what to do, for what Bedrock refuses of today’s models', () => {
  test('a model not enabled in the account: its name, and how to get access', async () => {
    const { body } = await browser(t.app).send(unique('[[access]] hi'))
    expect(errorOf(body)).toBe(
      'This account has no access to Claude Sonnet 4.6 (global.anthropic.claude-sonnet-4-6) in us-east-1: it is not enabled for the account. Request access in the Bedrock console (Model catalog; Anthropic models ask for a use-case form once), or pick a model from the Model list, which shows what these credentials can call.',
    )
  })

  test('a model Bedrock serves only through a profile: the global profile this account has is named', async () => {
    const you = browser(t.app)
    await you.get('/')
    // the emulated account serves Opus 4.7 only through profiles, as Bedrock does: no directive needed
    const { body } = await you.send(unique('Direct'), { modelId: 'anthropic.claude-opus-4-7' })
    expect(errorOf(body)).toBe(
      "anthropic.claude-opus-4-7 can't be called on demand in us-east-1: Bedrock serves it only through an inference profile, so use its inference profile global.anthropic.claude-opus-4-7 (Claude Opus 4.7 in the Model list) instead.",
    )
  })

  test('a parameter the model refuses is named, with where to change it', async () => {
    // a model the catalogue does not know gets a temperature only once the person sets one; this one refuses it
    const model = 'arn:aws:bedrock:us-east-1:123456789012:custom-model/claude-opus-4-7-tuned'
    const you = browser(t.app)
    await you.send(unique('First'), { modelId: 'custom', customModelId: model })
    expect((await you.post(`${you.conversation}/settings`, { systemPrompt: '', temperature: '0.5', maxTokens: '500' }, { htmx: true })).status).toBe(200)
    const { body } = await you.send(unique('Second'))
    expect(errorOf(body)).toBe(
      `${model} does not accept \`temperature\` (Bedrock: \`temperature\` is deprecated for this model). Change it in "Settings for this conversation", or describe the model in MODEL_CATALOG_FILE so the app sends only what it accepts.`,
    )
  })

  test("the server's Bedrock API key, expired or invalid, is named as such with what to do", async () => {
    for (const [token, expected] of [
      [
        'expired-server-key-0001',
        "The server's Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) has expired: make a new one in the Bedrock console (API keys) and restart the server with it, or use access keys instead.",
      ],
      [
        'invalid-server-key-0001',
        "The server's Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) was refused as invalid (UnrecognizedClientException: Invalid API Key format: Must start with pre-defined prefix): check that it was copied whole, or make a new one in the Bedrock console (API keys).",
      ],
    ] as const) {
      const keyed = await makeApp({ emulator: t.emulator, env: { AWS_BEARER_TOKEN_BEDROCK: token } })
      try {
        const { body } = await browser(keyed.app).send(unique('With a key'))
        expect(errorOf(body)).toBe(expected)
      } finally {
        await keyed.close()
      }
    }
  })

  test('the profile named: one the account can call, global first, then the region’s geography, then the catalogue’s', () => {
    const callable = ['us.anthropic.claude-opus-4-7', 'global.anthropic.claude-opus-4-7', 'anthropic.claude-3-haiku-20240307-v1:0']
    expect(profileFor('anthropic.claude-opus-4-7', 'us-east-1', callable)).toBe('global.anthropic.claude-opus-4-7')
    expect(profileFor('anthropic.claude-opus-4-7', 'us-east-1', ['eu.anthropic.claude-opus-4-7', 'us.anthropic.claude-opus-4-7'])).toBe(
      'us.anthropic.claude-opus-4-7',
    )
    expect(profileFor('anthropic.claude-sonnet-4-6', 'eu-west-1')).toBe('global.anthropic.claude-sonnet-4-6')
    expect(profileFor('vendor.unknown-model-v1:0', 'eu-west-1')).toBe('eu.vendor.unknown-model-v1:0')
  })

  test('IAM refusing the call is told apart from a model not enabled', () => {
    const err = Object.assign(new Error('User: arn:aws:iam::1:user/x is not authorized to perform: bedrock:InvokeModelWithResponseStream'), {
      name: 'AccessDeniedException',
    })
    const { message, category } = classifyError(err, { modelId: 'global.anthropic.claude-opus-4-8', region: 'us-west-2', attempts: 1 })
    expect(category).toBe('access')
    expect(message).toBe(
      'These credentials may not call Claude Opus 4.8 (global.anthropic.claude-opus-4-8) in us-west-2: allow bedrock:InvokeModelWithResponseStream on the model (and on its inference profile) in IAM, or pick another model.',
    )
  })
})
