// Reads a Velero backup tarball (`<name>.tar.gz` as written by Velero's Go archive/tar: USTAR headers,
// PAX or GNU long-name records for paths past 100 characters) into a map from path to parsed JSON, so
// tests can assert exactly what was captured.
import { gunzipSync } from 'node:zlib';
import { parseJson } from '../../src/shared/json.ts';
import { parseNumber, parsePaxRecords } from '../../src/inspect/tar.ts';
import type { JsonValue } from '../../src/velero/types.ts';

export interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'other';
  data: Buffer;
}

export function readTar(tar: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    const field = (start: number, len: number): string => {
      const raw = header.subarray(start, start + len);
      const end = raw.indexOf(0);
      return raw.subarray(0, end === -1 ? len : end).toString('utf8');
    };
    const size = parseNumber(header.subarray(124, 136));
    const typeflag = String.fromCharCode(header[156] ?? 0);
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const data = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (typeflag === 'x') {
      longName = parsePaxRecords(data).get('path') ?? longName;
      continue;
    }
    if (typeflag === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (typeflag === 'g') continue; // global PAX header: nothing we need
    const path = longName ?? name;
    longName = undefined;
    const type = typeflag === '0' || typeflag === '\0' ? 'file' : typeflag === '5' ? 'dir' : 'other';
    entries.push({ path, type, data: Buffer.from(data) });
  }
  return entries;
}

/** Every `.json` file of a gzipped backup tarball, parsed (losslessly), by its path inside the tarball. */
export function readBackupTarballBytes(gz: Buffer): Map<string, JsonValue> {
  const out = new Map<string, JsonValue>();
  for (const e of readTar(gunzipSync(gz))) {
    if (e.type === 'file' && e.path.endsWith('.json')) out.set(e.path, parseJson(e.data.toString('utf8'), e.path));
  }
  return out;
}
