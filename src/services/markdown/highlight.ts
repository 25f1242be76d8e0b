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

/*
 * What highlighting may cost. hljs runs on the server's only thread and cannot be interrupted, and
 * some of its grammars take time that grows faster than the code: on crafted input csharp and ini
 * are quadratic, markdown cubic on one long line, rust worse on an unclosed raw string (a 10 KB
 * ```markdown line of `[a](`: 13 s; 50 KB of `a a a` as csharp: 16 s). Auto-detection is dearer
 * still: it highlights the code once per candidate. So code past these sizes is shown as plain
 * escaped text, which costs next to nothing, and the Copy button works all the same.
 */

/** Unlabelled code is guessed at only this short (13 candidates: at most ~40 ms measured). */
export const AUTO_DETECT_MAX_CHARS = 2_000

/** Code in a language the fence names (or detected JSON) is highlighted up to this size. */
export const HIGHLIGHT_MAX_CHARS = 4_000

/**
 * Nor is code with a line longer than this (minified code, one huge line), where the grammars that
 * scan to the end of a line are slowest. Within both limits the worst crafted block measured
 * 90-170 ms (csharp, on 2 cores); real code takes a few milliseconds.
 */
export const HIGHLIGHT_MAX_LINE_CHARS = 500

/**
 * All the code one reply may have highlighted, so that many blocks just under the limits cannot add
 * up to a freeze either: two of the largest, or many small ones; the blocks after it are shown plain.
 */
export const REPLY_HIGHLIGHT_BUDGET_CHARS = 8_000

/** What is left of one reply's highlighting allowance: create one per render, pass it to each block. */
export type HighlightBudget = { chars: number }

export function replyHighlightBudget(): HighlightBudget {
  return { chars: REPLY_HIGHLIGHT_BUDGET_CHARS }
}

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
 * word the model wrote (a guess would contradict the label); no language at all is guessed. Code
 * too large to highlight (see the limits above) keeps its label and is shown plain; what is
 * highlighted is taken from the budget.
 */
export function highlightCode(code: string, fenceLanguage: string, budget: HighlightBudget = replyHighlightBudget()): HighlightedCode {
  const word = fenceLanguage.trim().toLowerCase()
  const affordable = code.length <= budget.chars && code.length <= HIGHLIGHT_MAX_CHARS && !hasLineLongerThan(code, HIGHLIGHT_MAX_LINE_CHARS)
  if (word) {
    if (!hljs.getLanguage(word)) return plain(code, word.slice(0, 40))
    if (!affordable) return plain(code, displayName(word))
    budget.chars -= code.length
    try {
      const result = hljs.highlight(code, { language: word, ignoreIllegals: true })
      return { html: result.value, label: displayName(word), language: canonicalName(word) }
    } catch {
      return plain(code, word)
    }
  }
  if (!affordable) return plain(code, 'Text')
  const guess = guessLanguage(code, budget)
  if (!guess) return plain(code, 'Text')
  return { html: guess.value, label: displayName(guess.language === 'xml' ? 'html' : guess.language), language: guess.language }
}

function hasLineLongerThan(code: string, max: number): boolean {
  let start = 0
  for (let end = code.indexOf('\n'); end !== -1; end = code.indexOf('\n', start)) {
    if (end - start > max) return true
    start = end + 1
  }
  return code.length - start > max
}

type Guess = { language: string; value: string }

/**
 * JSON is recognised by parsing it (hljs often calls a small object CSS); otherwise, for short
 * code, hljs's best guess, if it is sure enough. JavaScript and TypeScript tie on code that is
 * valid in both: that is JavaScript.
 */
function guessLanguage(code: string, budget: HighlightBudget): Guess | undefined {
  if (/^\s*[[{]/.test(code) && isJson(code)) {
    budget.chars -= code.length
    return { language: 'json', value: hljs.highlight(code, { language: 'json' }).value }
  }
  if (code.length > AUTO_DETECT_MAX_CHARS) return undefined
  budget.chars -= code.length
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
