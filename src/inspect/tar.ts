// A small streaming reader of tar archives as Go's archive/tar writes them (Velero's backup tarballs):
// USTAR headers, PAX extended headers and GNU long-name records for long paths. It reads from an async
// stream of chunks and hands out one entry at a time; an entry's body is buffered only when the caller
// wants it and only up to a limit, so a tarball of any size is read in bounded memory.
//
// Written here rather than taken from a library: it is about a hundred lines, adds no runtime
// dependency to the single executable, and rejects what it does not understand with a clear error.

export const BLOCK = 512;

export class TarError extends Error {
  override name = 'TarError';
}

export interface TarHeader {
  path: string;
  /** 'file' (regular), 'dir', or 'other' (links, devices...). */
  type: 'file' | 'dir' | 'other';
  size: number;
}

/** Reads an octal number field, or GNU's base-256 form (high bit of the first byte set) for huge sizes. */
export function parseNumber(field: Uint8Array): number {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
    return n;
  }
  const text = Buffer.from(field).toString('ascii').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`not a tar archive (a header field holds "${text.slice(0, 20)}")`);
  return parseInt(text, 8);
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** True for the all-zero blocks that end an archive. */
export function isEndBlock(block: Buffer): boolean {
  return block.every((b) => b === 0);
}

/**
 * One 512-byte header block: name (with the USTAR prefix), type and size; throws on a wrong checksum
 * (the surest sign that the data is not a tar archive). `typeflag` is returned raw for PAX/GNU records.
 */
export function parseHeaderBlock(block: Buffer): { name: string; typeflag: string; size: number } {
  const stored = parseNumber(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  if (sum !== stored) throw new TarError('not a tar archive (header checksum mismatch)');
  const prefix = block.subarray(257, 262).toString('ascii') === 'ustar' ? field(block, 345, 155) : '';
  const name = field(block, 0, 100);
  return { name: prefix ? `${prefix}/${name}` : name, typeflag: String.fromCharCode(block[156] ?? 0), size: parseNumber(block.subarray(124, 136)) };
}

/** The records of a PAX extended header ("<length> <key>=<value>\n" each). */
export function parsePaxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space === -1) break;
    const length = parseInt(data.subarray(i, space).toString('ascii'), 10);
    if (!Number.isFinite(length) || length <= 0 || i + length > data.length) throw new TarError('malformed PAX header');
    const record = data.subarray(space + 1, i + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    i += length;
  }
  return out;
}

/** What the caller decides for each entry: skip its body, or have it buffered (at most maxBytes). */
export type EntryChoice = { read: false } | { read: true; maxBytes: number };

/** Metadata records (PAX, GNU long name) are small; anything claiming more is not a real archive. */
const MAX_META_BYTES = 1024 * 1024;

/** Pulls bytes from an async iterator of chunks in exact amounts, holding no more than it must. */
class ByteSource {
  private chunks: Buffer[] = [];
  private length = 0;
  private done = false;
  constructor(private readonly input: AsyncIterator<Buffer | string>) {}

  private async fill(atLeast: number): Promise<boolean> {
    while (this.length < atLeast && !this.done) {
      const next = await this.input.next();
      if (next.done === true) this.done = true;
      else {
        const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
        this.chunks.push(chunk);
        this.length += chunk.length;
      }
    }
    return this.length >= atLeast;
  }

  /** Exactly n bytes, or undefined at a clean end of input (nothing left); throws when cut short. */
  async take(n: number, what: string): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) {
      if (this.length === 0 && n > 0) return undefined;
      throw new TarError(`truncated archive (it ends inside ${what})`);
    }
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.length);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return all.subarray(0, n);
  }

  /** Exactly n bytes; the end of input here means the archive was cut short. */
  async need(n: number, what: string): Promise<Buffer> {
    const out = await this.take(n, what);
    if (out === undefined) throw new TarError(`truncated archive (it ends inside ${what})`);
    return out;
  }

  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill(1))) throw new TarError(`truncated archive (it ends inside ${what})`);
      const first = this.chunks[0] as Buffer;
      const step = Math.min(left, first.length);
      if (step === first.length) this.chunks.shift();
      else this.chunks[0] = first.subarray(step);
      this.length -= step;
      left -= step;
    }
  }
}

/**
 * Reads the archive entry by entry: `choose` says for each header whether its body is wanted;
 * `onEntry` receives the header and, when wanted, the body. Directories and links are passed with no body.
 */
export async function readTarStream(
  chunks: AsyncIterable<Buffer | string>,
  choose: (header: TarHeader) => EntryChoice,
  onEntry: (header: TarHeader, body: Buffer | undefined) => void,
): Promise<void> {
  const source = new ByteSource(chunks[Symbol.asyncIterator]());
  let longName: string | undefined;
  let sawEnd = false;
  let entries = 0;
  for (;;) {
    const block = await source.take(BLOCK, 'a header');
    if (block === undefined) break;
    if (isEndBlock(block)) {
      sawEnd = true;
      break;
    }
    const raw = parseHeaderBlock(block);
    const padded = Math.ceil(raw.size / BLOCK) * BLOCK;
    if (raw.typeflag === 'x' || raw.typeflag === 'L' || raw.typeflag === 'g') {
      if (raw.size > MAX_META_BYTES) throw new TarError(`not a Velero backup (a ${raw.size}-byte tar metadata record)`);
      const data = await source.need(padded, 'a metadata record');
      const body = data.subarray(0, raw.size);
      if (raw.typeflag === 'x') longName = parsePaxRecords(body).get('path') ?? longName;
      else if (raw.typeflag === 'L') longName = body.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    const header: TarHeader = {
      path: longName ?? raw.name,
      type: raw.typeflag === '0' || raw.typeflag === '\0' || raw.typeflag === '7' ? 'file' : raw.typeflag === '5' ? 'dir' : 'other',
      size: raw.size,
    };
    longName = undefined;
    entries++;
    const choice = header.type === 'file' ? choose(header) : { read: false as const };
    if (choice.read) {
      if (header.size > choice.maxBytes) {
        throw new TarError(`${header.path} is ${header.size} bytes, more than the ${choice.maxBytes} bytes any such item may have`);
      }
      const data = await source.need(padded, header.path);
      onEntry(header, Buffer.from(data.subarray(0, header.size)));
    } else {
      await source.skip(padded, header.path);
      onEntry(header, undefined);
    }
  }
  // Go's archive/tar always writes the two zero blocks at the end; their absence means a cut-off file.
  if (!sawEnd) throw new TarError(entries === 0 ? 'empty archive' : 'truncated archive (no end-of-archive marker)');
}
