/**
 * The entry names in a compound file's directory (MS-CFB, "OLE2"): what tells a Word 97-2003
 * document (a `WordDocument` stream) from an Excel 97-2003 workbook (`Workbook` or `Book`), a
 * PowerPoint file or an encrypted Office file. file-type only says "a compound file".
 *
 * Why not SheetJS's `cfb` package: its reader follows a stream's sector chain without checking for
 * a cycle (SheetJS/js-cfb#11, open since 2020, still so in 1.2.2), so a 2.5 KB file whose FAT
 * loops spins forever while its memory grows: one upload would stall the server (the tests build
 * that file). This reader needs only the directory's own chain, and stops at the first sector it
 * has already read, so it reads each sector at most once.
 *
 * Only the 109 FAT sectors listed in the header are read: with 512-byte sectors they cover 7 MB,
 * more than a document may weigh.
 * https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cfb/
 */

const HEADER_FAT_SECTORS = 109
const ENTRY_BYTES = 128
/** Sector numbers from 0xFFFFFFFA up mean "none" (end of chain, free, FAT, DIFAT). */
const LAST_SECTOR_NUMBER = 0xfffffff9

/** Undefined when there is no directory to read: not a compound file, or a damaged one. */
export function compoundFileEntryNames(b: Uint8Array): Set<string> | undefined {
  if (b.length < 512) return undefined
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const u16 = (at: number) => (at + 2 <= b.length ? view.getUint16(at, true) : 0)
  const u32 = (at: number) => (at + 4 <= b.length ? view.getUint32(at, true) : 0xffffffff)

  const shift = u16(30)
  if (shift !== 9 && shift !== 12) return undefined
  const sectorSize = 1 << shift
  const offsetOf = (sector: number) => (sector + 1) * sectorSize
  const fatSectors = Math.min(u32(44), HEADER_FAT_SECTORS)
  const perFatSector = sectorSize / 4
  const next = (sector: number) => {
    const index = Math.floor(sector / perFatSector)
    return index < fatSectors ? u32(offsetOf(u32(76 + 4 * index)) + (sector % perFatSector) * 4) : 0xffffffff
  }

  const names = new Set<string>()
  const read = new Set<number>()
  for (let sector = u32(48); sector <= LAST_SECTOR_NUMBER && !read.has(sector); sector = next(sector)) {
    read.add(sector)
    const start = offsetOf(sector)
    if (start + sectorSize > b.length) break
    for (let entry = start; entry < start + sectorSize; entry += ENTRY_BYTES) {
      const nameBytes = u16(entry + 64) // including the terminating NUL
      if (nameBytes >= 4 && nameBytes <= 64) names.add(utf16le(view, entry, nameBytes - 2))
    }
  }
  return names.size > 0 ? names : undefined
}

function utf16le(view: DataView, at: number, length: number): string {
  let text = ''
  for (let i = 0; i + 1 < length; i += 2) text += String.fromCharCode(view.getUint16(at + i, true))
  return text
}
