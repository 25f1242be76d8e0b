/**
 * Bidirectional embedding, override and isolate controls. They make text display in an order
 * other than the one it has: a link reading "exe.jpg" that is "\u202Egpj.exe", or code whose
 * shown logic differs from what runs when copied ("Trojan Source", CVE-2021-42574). Hebrew and
 * Arabic display correctly without them (the bidi algorithm needs no explicit controls; the
 * direction marks U+200E/U+200F are kept), so model output loses them wherever it is shown:
 * while it streams and once it is rendered. Each is one UTF-16 unit, so removing them token by
 * token removes them all.
 */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g

export function withoutBidiControls(text: string): string {
  return text.replace(BIDI_CONTROLS, '')
}
