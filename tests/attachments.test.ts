import { describe, expect, test } from 'bun:test'
import { deflateSync } from 'node:zlib'
import {
  ACCEPT_ATTRIBUTE,
  ATTACHMENT_LIMITS,
  checkAttachments,
  converseName,
  uniqueConverseNames,
  type AcceptedAttachment,
  type IncomingFile,
} from '../src/services/chat/attachments/index.ts'
import {
  compoundFile,
  concat,
  cyclicCompoundFile,
  docm,
  docx,
  fixture,
  gifHeader,
  jpegHeader,
  odt,
  pdf,
  pdfWithObjectStream,
  png,
  pptx,
  webpHeader,
  xlsx,
} from './fixtures/attachments/build.ts'

const text = (s: string) => new TextEncoder().encode(s)
const check = (...files: IncomingFile[]) => checkAttachments(files)
const one = async (file: IncomingFile) => {
  const { accepted, refused } = await check(file)
  return { accepted: accepted[0], refused: refused[0]?.reason }
}
/** DocumentBlock.name as the Bedrock API reference allows it. */
const CONVERSE_NAME = /^(?!.* {2})[A-Za-z0-9 ()[\]-]{1,200}$/

describe('images people attach', () => {
  test.each([
    ['real.png', 'png', 'image/png', 3, 2],
    ['real.jpg', 'jpeg', 'image/jpeg', 5, 3],
    ['progressive.jpg', 'jpeg', 'image/jpeg', 5, 3],
    ['real.gif', 'gif', 'image/gif', 4, 3],
    ['lossy.webp', 'webp', 'image/webp', 7, 5],
    ['lossless.webp', 'webp', 'image/webp', 7, 5],
    ['alpha.webp', 'webp', 'image/webp', 6, 9],
  ])('%s from a real encoder is sent as a %s image, %s, with its size in pixels', async (file, format, mediaType, width, height) => {
    const bytes = fixture(file)
    const { accepted, refused } = await one({ name: file, bytes })
    expect(refused).toBeUndefined()
    expect(accepted).toMatchObject({ kind: 'image', format, mediaType, width, height, size: bytes.length, originalName: file })
    expect(accepted!.bytes).toBe(bytes)
  })

  test('a JPEG whose EXIF block holds marker-like bytes still gives its frame size, baseline or progressive', async () => {
    expect((await one({ name: 'a.jpg', bytes: jpegHeader(640, 480) })).accepted).toMatchObject({ width: 640, height: 480 })
    expect((await one({ name: 'b.jpg', bytes: jpegHeader(1024, 768, 0xc2) })).accepted).toMatchObject({ width: 1024, height: 768 })
  })

  test('a BMP image is refused with a message naming the supported formats', async () => {
    expect((await one({ name: 'photo.bmp', type: 'image/bmp', bytes: fixture('real.bmp') })).refused).toBe(
      'photo.bmp: BMP images are not supported; use PNG, JPEG, GIF or WebP.',
    )
  })

  test('TIFF and HEIC photos are refused by name, whatever their extension', async () => {
    expect((await one({ name: 'scan.png', bytes: concat([0x49, 0x49, 0x2a, 0x00], new Uint8Array(20)) })).refused).toBe(
      'scan.png: TIFF images are not supported; use PNG, JPEG, GIF or WebP.',
    )
    expect((await one({ name: 'IMG_0001.jpg', bytes: concat([0, 0, 0, 24], 'ftypheic', new Uint8Array(20)) })).refused).toBe(
      'IMG_0001.jpg: HEIC images are not supported; use PNG, JPEG, GIF or WebP.',
    )
  })

  test('an image over 3.75 MB is refused, saying its size and the limit in MB', async () => {
    const big = concat(png(10, 10), new Uint8Array(3_750_001 - png(10, 10).length))
    expect((await one({ name: 'big.png', bytes: big })).refused).toBe('big.png: the image is 3.76 MB; images can be at most 3.75 MB.')
    const exactly = concat(png(10, 10), new Uint8Array(3_750_000 - png(10, 10).length))
    expect((await one({ name: 'exactly.png', bytes: exactly })).accepted?.size).toBe(3_750_000)
  })

  test('an image more than 8000 pixels on a side is refused with its size; 8000 is fine', async () => {
    expect((await one({ name: 'wide.png', bytes: png(8001, 1) })).refused).toBe(
      'wide.png: the image is 8001 × 1 pixels; images can be at most 8000 pixels on each side.',
    )
    expect((await one({ name: 'tall.webp', bytes: webpHeader(12, 9000) })).refused).toContain('12 × 9000 pixels')
    expect((await one({ name: 'tall.gif', bytes: gifHeader(10, 8001) })).refused).toContain('10 × 8001 pixels')
    expect((await one({ name: 'tall.jpg', bytes: jpegHeader(100, 8001) })).refused).toContain('100 × 8001 pixels')
    expect((await one({ name: 'edge.png', bytes: png(8000, 1) })).accepted).toMatchObject({ width: 8000, height: 1 })
  })

  test('an image whose header is cut short is refused as damaged, not sent', async () => {
    const png8 = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
    expect((await one({ name: 'cut.png', bytes: new Uint8Array(png8) })).refused).toBe("cut.png: the PNG image's size could not be read; it may be damaged.")
    expect((await one({ name: 'cut.jpg', bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00]) })).refused).toContain('could not be read')
    expect((await one({ name: 'cut.webp', bytes: concat('RIFF', [0, 0, 0, 0], 'WEBP') })).refused).toContain('could not be read')
  })

  test('the 21st image of a message is refused, saying the limit; images already attached count', async () => {
    const files = Array.from({ length: 21 }, (_, i) => ({ name: `shot ${i}.png`, bytes: png(2, 2) }))
    const { accepted, refused } = await checkAttachments(files)
    expect(accepted).toHaveLength(20)
    expect(refused.map((r) => r.reason)).toEqual(['shot 20.png: a message can carry at most 20 images.'])

    const more = await checkAttachments(files.slice(0, 2), { images: 19, documents: 0 })
    expect(more.accepted.map((a) => a.originalName)).toEqual(['shot 0.png'])
    expect(more.refused).toHaveLength(1)
  })

  test('a refused file takes no place: a damaged image before 20 good ones leaves all 20 accepted', async () => {
    const files = [{ name: 'bad.png', bytes: text('not a png') }, ...Array.from({ length: 20 }, (_, i) => ({ name: `${i}.png`, bytes: png(1, 1) }))]
    const { accepted, refused } = await checkAttachments(files)
    expect(accepted).toHaveLength(20)
    expect(refused).toHaveLength(1)
  })
})

describe('documents people attach', () => {
  test('a PDF renamed .png is sent as a PDF, with a note saying so', async () => {
    const { accepted } = await one({ name: 'scan.png', type: 'image/png', bytes: pdf(2) })
    expect(accepted).toMatchObject({ kind: 'document', format: 'pdf', mediaType: 'application/pdf', name: 'scan', pages: 2 })
    expect(accepted!.note).toBe('scan.png is a PDF document, not a PNG image; it is sent as a PDF document.')
  })

  test('a PNG named .txt is sent as a PNG image: the bytes decide, not the name or the browser', async () => {
    expect((await one({ name: 'notes.txt', type: 'text/plain', bytes: png(4, 4) })).accepted).toMatchObject({ kind: 'image', format: 'png' })
  })

  test('a text file named .pdf is refused as not a valid PDF', async () => {
    expect((await one({ name: 'report.pdf', type: 'application/pdf', bytes: text('just words') })).refused).toBe(
      'report.pdf: this is not a valid PDF document; it may be damaged, or a different kind of file.',
    )
  })

  test('PDF pages are counted, also when they sit inside a compressed object stream', async () => {
    expect((await one({ name: 'a.pdf', bytes: pdf(3) })).accepted).toMatchObject({ format: 'pdf', pages: 3 })
    expect((await one({ name: 'b.pdf', bytes: pdfWithObjectStream(7) })).accepted).toMatchObject({ format: 'pdf', pages: 7 })
  })

  test.each([
    ['data.csv', 'csv', 'text/csv', 'a,b\n1,2\n'],
    ['notes.txt', 'txt', 'text/plain', 'plain words'],
    ['README.md', 'md', 'text/markdown', '# Title\n\nSome *text*.'],
    ['notes.markdown', 'md', 'text/markdown', '# Title'],
    ['page.html', 'html', 'text/html', '<p>Hello</p>'],
    ['page.htm', 'html', 'text/html', '<p>Hello</p>'],
    ['bom.txt', 'txt', 'text/plain', '\ufeffstarts with a byte-order mark, ünïcödé'],
  ])('%s in UTF-8 is sent as a %s document', async (name, format, mediaType, content) => {
    expect((await one({ name, bytes: text(content) })).accepted).toMatchObject({ kind: 'document', format, mediaType })
  })

  test('a file with no extension is read as text when the browser says text/csv', async () => {
    expect((await one({ name: 'export', type: 'text/csv', bytes: text('a,b') })).accepted).toMatchObject({ format: 'csv' })
    expect((await one({ name: 'export', type: 'application/octet-stream', bytes: text('a,b') })).refused).toContain('not supported')
  })

  test('a text file that is not UTF-8 is refused and asked to be saved as UTF-8', async () => {
    expect((await one({ name: 'caf\u00e9.txt', bytes: new Uint8Array([0x63, 0x61, 0x66, 0xe9]) })).refused).toBe(
      'caf\u00e9.txt: the file is not UTF-8 text (it may use an older encoding such as Windows-1252); save it as UTF-8 and attach it again.',
    )
    expect((await one({ name: 'wide.csv', bytes: new Uint8Array([0xff, 0xfe, 0x61, 0x00]) })).refused).toBe(
      'wide.csv: the file is saved as UTF-16; save it as UTF-8 and attach it again.',
    )
    expect((await one({ name: 'blob.md', bytes: new Uint8Array([0x61, 0x00, 0x62]) })).refused).toBe('blob.md: the file holds binary data, not text.')
  })

  test('a Word document and an Excel workbook are recognised from the zip directory, whatever their extension', async () => {
    expect((await one({ name: 'letter.docx', bytes: docx() })).accepted).toMatchObject({
      format: 'docx',
      mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    })
    const renamed = (await one({ name: 'budget.docx', bytes: xlsx() })).accepted
    expect(renamed).toMatchObject({ format: 'xlsx', name: 'budget' })
    expect(renamed!.note).toBe('budget.docx is an Excel workbook, not a Word document; it is sent as an Excel workbook.')
    const zipped = (await one({ name: 'archive.zip', bytes: docx() })).accepted
    expect(zipped).toMatchObject({ format: 'docx' })
    expect(zipped).not.toHaveProperty('note') // .zip names no supported type, so nothing to correct
  })

  test('Word 97-2003 and Excel 97-2003 files are recognised from the compound file directory', async () => {
    // 'WordDocument' is the fifth name: only reachable by following the directory's sector chain
    expect((await one({ name: 'old.doc', bytes: compoundFile(['Data', '1Table', 'SummaryInformation', 'WordDocument']) })).accepted).toMatchObject({
      format: 'doc',
      mediaType: 'application/msword',
    })
    expect((await one({ name: 'old.xls', bytes: compoundFile(['Workbook']) })).accepted).toMatchObject({ format: 'xls' })
  })

  test('a PowerPoint file is refused, suggesting PDF; so are OpenDocument, RTF and password-protected files', async () => {
    expect((await one({ name: 'deck.pptx', bytes: pptx() })).refused).toBe(
      'deck.pptx: PowerPoint presentations are not supported; save it as PDF and attach that.',
    )
    expect((await one({ name: 'deck.ppt', bytes: compoundFile(['PowerPoint Document']) })).refused).toContain('PowerPoint presentations')
    expect((await one({ name: 'essay.odt', bytes: odt() })).refused).toContain('OpenDocument files are not supported')
    expect((await one({ name: 'memo.rtf', bytes: text('{\\rtf1\\ansi hello}') })).refused).toContain('RTF documents are not supported')
    expect((await one({ name: 'secret.docx', bytes: compoundFile(['EncryptionInfo', 'EncryptedPackage']) })).refused).toBe(
      'secret.docx: password-protected files are not supported; remove the password and attach it again.',
    )
  })

  test('an unknown kind of file is refused, listing what can be attached', async () => {
    expect((await one({ name: 'song.mp3', bytes: concat('ID3', new Uint8Array(30)) })).refused).toBe(
      'song.mp3: this kind of file is not supported; attach PNG, JPEG, GIF or WebP images, or PDF, CSV, TXT, Markdown, HTML, Word or Excel documents.',
    )
  })

  test('a document over 4.5 MB is refused, saying the limit in MB; 4.5 MB exactly is fine', async () => {
    expect((await one({ name: 'log.txt', bytes: new Uint8Array(4_600_000).fill(0x61) })).refused).toBe(
      'log.txt: the document is 4.6 MB; documents can be at most 4.5 MB.',
    )
    expect((await one({ name: 'log.txt', bytes: new Uint8Array(4_500_000).fill(0x61) })).accepted?.size).toBe(4_500_000)
  })

  test('the sixth document of a message is refused, saying the limit; images count separately', async () => {
    const docs = Array.from({ length: 6 }, (_, i) => ({ name: `part ${i}.txt`, bytes: text(`part ${i}`) }))
    const { accepted, refused } = await checkAttachments([...docs, { name: 'chart.png', bytes: png(3, 3) }])
    expect(accepted.map((a) => a.kind)).toEqual(['document', 'document', 'document', 'document', 'document', 'image'])
    expect(refused.map((r) => r.reason)).toEqual(['part 5.txt: a message can carry at most 5 documents.'])
    expect((await checkAttachments(docs.slice(0, 1), { images: 0, documents: 5 })).refused).toHaveLength(1)
  })

  test('an empty file is refused', async () => {
    expect((await one({ name: 'empty.pdf', bytes: new Uint8Array() })).refused).toBe('empty.pdf: the file is empty.')
  })
})

describe('names Bedrock accepts', () => {
  test('each document gets a Converse-safe name, unique in the message, and keeps its own name for display', async () => {
    const names = ['Q3 report (final).pdf', 'my_report.v2.txt', 'r\u00e9sum\u00e9.txt', '\u5831\u544a\u66f8.txt', '\u5831\u544a.txt', 'notes.txt', 'Notes.md']
    const { accepted } = await checkAttachments(names.map((name) => ({ name, bytes: name.endsWith('.pdf') ? pdf(1) : text('x') })).slice(0, 5))
    const more = await checkAttachments(
      names.slice(5).map((name) => ({ name, bytes: text('x') })),
      { images: 0, documents: 0, names: ['notes'] },
    )
    const all: AcceptedAttachment[] = [...accepted, ...more.accepted]
    expect(all.map((a) => a.name)).toEqual(['Q3 report (final)', 'my report v2', 'resume', 'document', 'document (2)', 'notes (2)', 'Notes (3)'])
    expect(all.map((a) => a.originalName)).toEqual(names)
    for (const a of all) expect(a.name).toMatch(CONVERSE_NAME)
  })

  test('names from hostile or odd file names stay within the rules and the length limit', async () => {
    for (const name of ['../../etc/passwd', 'a\tb\n\nc.txt', '   .txt', 'x'.repeat(400) + '.txt', '—.txt', 'C:\\fakepath\\photo.txt', '[draft] - (v1).txt']) {
      const converse = converseName(name)
      expect(converse).toMatch(CONVERSE_NAME)
      expect(converse.length).toBeLessThanOrEqual(ATTACHMENT_LIMITS.maxNameLength)
    }
    expect(converseName('[draft] - (v1).txt')).toBe('[draft] - (v1)')
    expect(converseName('(-).pdf')).toBe('document') // punctuation alone is no name
    expect(converseName('\u5199\u771f.png', 'image')).toBe('image')
    expect((await one({ name: 'C:\\fakepath\\photo.txt', bytes: text('x') })).accepted).toMatchObject({ originalName: 'photo.txt', name: 'photo' })
  })

  test('document names repeated across a whole request are made unique for the Bedrock module', () => {
    expect(uniqueConverseNames(['report', 'Report', 'report (2)', 'report'])).toEqual(['report', 'Report (2)', 'report (2) (2)', 'report (3)'])
    const long = 'y'.repeat(ATTACHMENT_LIMITS.maxNameLength)
    const [, second] = uniqueConverseNames([long, long])
    expect(second!.length).toBeLessThanOrEqual(ATTACHMENT_LIMITS.maxNameLength)
    expect(second!.endsWith(' (2)')).toBe(true)
  })
})

describe('what the page shows', () => {
  test('the file input accepts every supported extension', () => {
    expect(ACCEPT_ATTRIBUTE).toBe('.png,.jpg,.jpeg,.gif,.webp,.pdf,.csv,.txt,.md,.markdown,.html,.htm,.docx,.xlsx,.doc,.xls')
  })

  test('the limits are Bedrock Converse limits', () => {
    expect(ATTACHMENT_LIMITS).toMatchObject({
      maxImageBytes: 3_750_000,
      maxImageSide: 8000,
      maxImages: 20,
      maxDocumentBytes: 4_500_000,
      maxDocuments: 5,
    })
    expect(ATTACHMENT_LIMITS.maxNameLength).toBeLessThanOrEqual(200)
  })
})

describe('bad input never throws', () => {
  test('missing names, missing bytes, odd values and truncated containers are refused one by one', async () => {
    const junk = [
      null,
      {},
      { name: 42, bytes: 'not bytes' },
      { name: 'a.png' },
      { name: 'b.docx', bytes: new Uint8Array([0x50, 0x4b, 0x03, 0x04]) },
      {
        name: 'c.docx',
        bytes: concat(
          [0x50, 0x4b, 0x03, 0x04],
          new Uint8Array(30),
          [0x50, 0x4b, 0x05, 0x06],
          new Uint8Array(6),
          [0xff, 0xff],
          new Uint8Array(4),
          [0xff, 0xff, 0xff, 0x7f],
        ),
      },
      { name: 'd.doc', bytes: concat([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], new Uint8Array(600).fill(0xff)) },
      { name: 'e.pdf', bytes: text('%PDF-1.7\n/Type/ObjStm stream\r\nnot deflate\r\nendstream') },
      { name: 'f.jpg', bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x01]) },
      { name: 'g.gif', bytes: text('GIF89a') },
    ] as unknown as IncomingFile[]
    const { accepted, refused } = await checkAttachments(junk)
    expect(accepted.map((a) => a.originalName)).toEqual(['e.pdf']) // a PDF we cannot count pages of is still a PDF
    expect(accepted[0]).not.toHaveProperty('pages')
    expect(refused).toHaveLength(junk.length - 1)
    for (const r of refused) expect(r.reason).toMatch(/^.+: .+\.$/)
    expect(await checkAttachments(undefined as unknown as IncomingFile[])).toEqual({ accepted: [], refused: [] })
    expect(await checkAttachments([], { images: Number.NaN, documents: -3 } as never)).toEqual({ accepted: [], refused: [] })
  })

  test('bytes arriving as an ArrayBuffer or a Node Buffer are read the same', async () => {
    const bytes = png(5, 6)
    expect((await one({ name: 'a.png', bytes: bytes.buffer as unknown as Uint8Array })).accepted).toMatchObject({ width: 5, height: 6 })
    expect((await one({ name: 'b.png', bytes: Buffer.from(bytes) })).accepted).toMatchObject({ width: 5, height: 6 })
  })
})

describe('files that lie, are cut short, or are built to hurt', () => {
  test('a JPEG named .png and a Word document named .pdf are sent as what they are, with a note', async () => {
    const jpeg = (await one({ name: 'photo.png', bytes: fixture('real.jpg') })).accepted
    expect(jpeg).toMatchObject({ kind: 'image', format: 'jpeg', mediaType: 'image/jpeg', width: 5, height: 3 })
    expect(jpeg!.note).toBe('photo.png is a JPEG image, not a PNG image; it is sent as a JPEG image.')
    const word = (await one({ name: 'letter.pdf', bytes: docx() })).accepted
    expect(word).toMatchObject({ kind: 'document', format: 'docx', name: 'letter' })
    expect(word!.note).toBe('letter.pdf is a Word document, not a PDF document; it is sent as a Word document.')
  })

  test('an image cut off inside the header that holds its size is refused as damaged', async () => {
    const cut = (bytes: Uint8Array, length: number) => bytes.slice(0, length)
    const jpeg = jpegHeader(640, 480)
    for (const [name, bytes, label] of [
      ['a.png', cut(fixture('real.png'), 20), 'PNG image'],
      ['b.jpg', cut(jpeg, jpeg.length - 12), 'JPEG image'], // inside the frame header
      ['c.gif', cut(fixture('real.gif'), 8), 'GIF image'],
      ['d.webp', cut(fixture('lossy.webp'), 24), 'WebP image'],
    ] as const) {
      expect((await one({ name, bytes })).refused).toBe(`${name}: the ${label}'s size could not be read; it may be damaged.`)
    }
  })

  test('a compound file that is neither Word nor Excel is refused, saying what its name claimed', async () => {
    const other = compoundFile(['SummaryInformation', 'Contents'])
    expect((await one({ name: 'notes.doc', bytes: other })).refused).toBe(
      'notes.doc: this is not a valid Word 97-2003 document; it may be damaged, or a different kind of file.',
    )
    expect((await one({ name: 'mail.msg', bytes: other })).refused).toContain('this kind of file is not supported')
  })

  test('a compound file whose sector chain loops is read at once (the cfb package would never return)', async () => {
    const started = performance.now()
    expect((await one({ name: 'loop.doc', bytes: cyclicCompoundFile() })).accepted).toMatchObject({ format: 'doc' })
    expect(performance.now() - started).toBeLessThan(1000)
  })

  test('text that starts like a GIF or BMP signature is still text', async () => {
    expect((await one({ name: 'notes.txt', bytes: text('GIF exports are slow') })).accepted).toMatchObject({ format: 'txt' })
    expect((await one({ name: 'people.csv', bytes: text('BMI,weight\n22,70\n') })).accepted).toMatchObject({ format: 'csv' })
  })

  test('an animated PNG is a PNG; macro-enabled Word files are Word documents, as before', async () => {
    expect((await one({ name: 'spin.png', bytes: png(3, 2, { animated: true }) })).accepted).toMatchObject({ format: 'png', width: 3, height: 2 })
    expect((await one({ name: 'macro.docm', bytes: docm() })).accepted).toMatchObject({ format: 'docx' })
  })

  test('a PDF whose object streams are a compression bomb shared by many headers is counted at once', async () => {
    const bomb = deflateSync(new Uint8Array(80_000_000))
    const hostile = concat('%PDF-1.7\n', '<</Type/Page>>'.repeat(2), '<</Type/ObjStm>>'.repeat(250_000), 'stream\r\n', bomb, '\r\nendstream\n')
    const started = performance.now()
    expect((await one({ name: 'bomb.pdf', bytes: hostile })).accepted).toMatchObject({ format: 'pdf', pages: 2 })
    expect(performance.now() - started).toBeLessThan(2000)
  })

  test('a Word document inside a larger buffer (a Node Buffer from the pool) is read from its own bytes', async () => {
    const pooled = Buffer.concat([Buffer.from('not this'), Buffer.from(docx())]).subarray(8)
    expect((await one({ name: 'pooled.docx', bytes: pooled })).accepted).toMatchObject({ format: 'docx' })
  })
})
