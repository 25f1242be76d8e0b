import hljs from 'highlight.js/lib/core'
import bash from 'highlight.js/lib/languages/bash'
import c from 'highlight.js/lib/languages/c'
import cpp from 'highlight.js/lib/languages/cpp'
import csharp from 'highlight.js/lib/languages/csharp'
import css from 'highlight.js/lib/languages/css'
import diff from 'highlight.js/lib/languages/diff'
import dockerfile from 'highlight.js/lib/languages/dockerfile'
import go from 'highlight.js/lib/languages/go'
import graphql from 'highlight.js/lib/languages/graphql'
import ini from 'highlight.js/lib/languages/ini'
import java from 'highlight.js/lib/languages/java'
import javascript from 'highlight.js/lib/languages/javascript'
import json from 'highlight.js/lib/languages/json'
import kotlin from 'highlight.js/lib/languages/kotlin'
import lua from 'highlight.js/lib/languages/lua'
import makefile from 'highlight.js/lib/languages/makefile'
import markdown from 'highlight.js/lib/languages/markdown'
import php from 'highlight.js/lib/languages/php'
import plaintext from 'highlight.js/lib/languages/plaintext'
import powershell from 'highlight.js/lib/languages/powershell'
import python from 'highlight.js/lib/languages/python'
import r from 'highlight.js/lib/languages/r'
import ruby from 'highlight.js/lib/languages/ruby'
import rust from 'highlight.js/lib/languages/rust'
import scss from 'highlight.js/lib/languages/scss'
import shell from 'highlight.js/lib/languages/shell'
import sql from 'highlight.js/lib/languages/sql'
import swift from 'highlight.js/lib/languages/swift'
import typescript from 'highlight.js/lib/languages/typescript'
import xml from 'highlight.js/lib/languages/xml'
import yaml from 'highlight.js/lib/languages/yaml'
import { escapeHtml } from './urls.ts'

/**
 * The core build with the languages people ask a chat model about, not all ~190: start-up stays
 * quick and auto-detection has fewer wrong answers to choose from. Aliases come with each
 * language (`ts`, `py`, `sh`, `yml`, `html`, `toml`, ...).
 */
const LANGUAGES = {
  bash,
  c,
  cpp,
  csharp,
  css,
  diff,
  dockerfile,
  go,
  graphql,
  ini,
  java,
  javascript,
  json,
  kotlin,
  lua,
  makefile,
  markdown,
  php,
  plaintext,
  powershell,
  python,
  r,
  ruby,
  rust,
  scss,
  shell,
  sql,
  swift,
  typescript,
  xml,
  yaml,
}
for (const [name, language] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, language)

/** Guessed among these only when a fence names no language: the commonest, and the most distinct. */
const AUTO_DETECT = ['bash', 'cpp', 'css', 'go', 'java', 'javascript', 'json', 'python', 'rust', 'sql', 'typescript', 'xml', 'yaml']

/**
 * hljs scores a short snippet low and close (a Python function: python 4, css 3; prose: css 2), so
 * a guess is taken only with at least this relevance and a clear lead over the runner-up. A wrong
 * label is worse than none: an unsure guess shows the code plain, labelled "Text".
 */
const MIN_RELEVANCE = 3

/** Auto-detection highlights the code once per candidate: past this size it is not worth it. */
const AUTO_DETECT_MAX_CHARS = 20_000

export type HighlightedCode = {
  /** Escaped HTML: hljs spans (classes only, never a style) or plain escaped text. */
  html: string
  /** For the label above the block: the language's display name, or the fence's word as written. */
  label: string
  /** hljs's canonical name, for a `language-*` class; absent when the code is shown plain. */
  language?: string
}

/**
 * The fence's language if hljs knows it; an unknown one shows the code plain, labelled with the
 * word the model wrote (a guess would contradict the label); no language at all is guessed.
 */
export function highlightCode(code: string, fenceLanguage: string): HighlightedCode {
  const word = fenceLanguage.trim().toLowerCase()
  if (word) {
    if (!hljs.getLanguage(word)) return plain(code, word.slice(0, 40))
    try {
      const result = hljs.highlight(code, { language: word, ignoreIllegals: true })
      return { html: result.value, label: displayName(word), language: canonicalName(word) }
    } catch {
      return plain(code, word)
    }
  }
  const guess = guessLanguage(code)
  if (!guess) return plain(code, 'Text')
  return { html: guess.value, label: displayName(guess.language === 'xml' ? 'html' : guess.language), language: guess.language }
}

type Guess = { language: string; value: string }

/**
 * JSON is recognised by parsing it (hljs often calls a small object CSS); otherwise hljs's best
 * guess, if it is sure enough. JavaScript and TypeScript tie on code that is valid in both: that
 * is JavaScript.
 */
function guessLanguage(code: string): Guess | undefined {
  if (/^\s*[[{]/.test(code) && isJson(code)) return { language: 'json', value: hljs.highlight(code, { language: 'json' }).value }
  if (code.length > AUTO_DETECT_MAX_CHARS) return undefined
  const best = hljs.highlightAuto(code, AUTO_DETECT)
  const runnerUp = best.secondBest
  if (!best.language || best.relevance < MIN_RELEVANCE) return undefined
  if (!runnerUp?.language || runnerUp.relevance < best.relevance) return { language: best.language, value: best.value }
  const tie = [best, runnerUp].find((result) => result.language === 'javascript')
  const other = tie === best ? runnerUp : best
  return tie && other.language === 'typescript' ? { language: 'javascript', value: tie.value } : undefined
}

function isJson(code: string): boolean {
  try {
    JSON.parse(code)
    return true
  } catch {
    return false
  }
}

function plain(code: string, label: string): HighlightedCode {
  return { html: escapeHtml(code), label }
}

/**
 * hljs's display name (`ts` → "TypeScript"), except for the few that name several languages at
 * once ("HTML, XML", "TOML, also INI"), where the word itself reads better: `html` → "HTML".
 */
function displayName(word: string): string {
  const name = hljs.getLanguage(word)?.name ?? word
  return name.includes(',') ? word.toUpperCase() : name
}

/** `ts` → `typescript`: the registered name whose definition the alias resolves to. */
function canonicalName(word: string): string {
  const language = hljs.getLanguage(word)
  return Object.keys(LANGUAGES).find((name) => hljs.getLanguage(name) === language) ?? word
}
