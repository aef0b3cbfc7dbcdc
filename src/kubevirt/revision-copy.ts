// Point-in-time copies of a VM's instance type / preference ControllerRevisions, embedded in the
// backed-up VM as one annotation. Velero drops status and may leave the revisions out of a backup
// (resource filters, another backup tool's VM...), yet KubeVirt needs the exact revision to give the VM
// its original shape. With the copy, a restore can re-create the revision byte-for-byte in content.
//
// What is stored, per referenced revision: its name, KubeVirt's instancetype.kubevirt.io/* labels, and
// its `data` (the instance type / preference object as it was), gzip-compressed and base64-encoded.
// Nothing else of the revision (owner references, uid) is kept: those are re-derived on restore.
// Since the VM's own revisions may be left out of a restore's selection (a restore by label selector
// brings them only as additional items, after the VM's Execute), each entry also records whether the
// revision itself went into the same backup; entries written before that (and VMs backed up by
// KubeVirt's Go plugin, which embeds no copies) say nothing, and a restore treats them as before.
import { gunzipSync, gzipSync } from 'node:zlib';
import { dropOldest } from '../shared/bounded.ts';
import { isJsonObject, parseJson, stringifyJson } from '../shared/json.ts';
import type { JsonValue, KubeObject } from '../velero/types.ts';
import { PluginAnnotations, RevisionLabels } from './constants.ts';

export type RevisionRole = 'instancetype' | 'preference';

export interface RevisionCopy {
  role: RevisionRole;
  /** The ControllerRevision's name, as the VM references it. */
  name: string;
  /** Only KubeVirt's instancetype.kubevirt.io/* labels. */
  labels: Record<string, string>;
  /** The revision's `data`: the instance type / preference object as it was at backup time. */
  data: JsonValue;
  /** Whether the revision itself is in the same backup; undefined when the backup did not record it. */
  inBackup?: boolean;
}

/** The annotation stays well under Kubernetes' 256 KiB limit for all annotations of an object. */
export const MAX_ANNOTATION_BYTES = 96 * 1024;

interface EncodedCopy {
  role: RevisionRole;
  name: string;
  labels: Record<string, string>;
  dataGzipBase64: string;
  /** Optional within version 1: older readers ignore it, older writers leave it out. */
  inBackup?: boolean;
}

interface EncodedAnnotation {
  version: 1;
  revisions: EncodedCopy[];
}

/** Keeps only the labels that describe which object and version a revision holds. */
export function revisionLabelsOf(revision: KubeObject): Record<string, string> {
  const kept: Record<string, string> = {};
  const known = new Set<string>(Object.values(RevisionLabels));
  for (const [key, value] of Object.entries(revision.metadata.labels ?? {})) {
    if (known.has(key)) kept[key] = value;
  }
  return kept;
}

export class RevisionCopyError extends Error {
  override name = 'RevisionCopyError';
}

/**
 * Compressed `data` texts already seen, by text. KubeVirt gives every VM its own revisions, but VMs of
 * the same instance type or preference hold the same `data` in them: 1,000 VMs of one type are 1,000
 * identical texts, and gzip was the largest piece of a VM's backup call. gzip output depends only on
 * its input, so a remembered result is the same bytes. Bounded: a backup has few distinct types.
 */
const compressedByText = new Map<string, string>();
const REMEMBERED_TEXTS = 64;

function compressedData(text: string): string {
  let compressed = compressedByText.get(text);
  if (compressed === undefined) {
    compressed = gzipSync(Buffer.from(text)).toString('base64');
    compressedByText.set(text, compressed);
    dropOldest(compressedByText, REMEMBERED_TEXTS);
  }
  return compressed;
}

/**
 * Encodes the copies as the annotation's value. Throws RevisionCopyError when the result would exceed
 * MAX_ANNOTATION_BYTES, so that the caller can warn instead of producing an object the API rejects.
 */
export function encodeRevisionCopies(copies: readonly RevisionCopy[]): string {
  const encoded: EncodedAnnotation = {
    version: 1,
    revisions: copies.map((copy) => ({
      role: copy.role,
      name: copy.name,
      labels: copy.labels,
      dataGzipBase64: compressedData(stringifyJson(copy.data)),
      ...(copy.inBackup === undefined ? {} : { inBackup: copy.inBackup }),
    })),
  };
  const value = JSON.stringify(encoded);
  if (Buffer.byteLength(value) > MAX_ANNOTATION_BYTES) {
    throw new RevisionCopyError(
      `point-in-time copies of ${copies.map((c) => c.name).join(', ')} take ${Buffer.byteLength(value)} bytes, ` +
        `more than the ${MAX_ANNOTATION_BYTES} bytes allowed in an annotation`,
    );
  }
  return value;
}

/** Decodes the annotation's value; throws RevisionCopyError on anything malformed. */
export function decodeRevisionCopies(value: string): RevisionCopy[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new RevisionCopyError(`annotation ${PluginAnnotations.revisionCopies} is not JSON: ${String(err)}`);
  }
  if (!isJsonObject(parsed) || parsed['version'] !== 1 || !Array.isArray(parsed['revisions'])) {
    throw new RevisionCopyError(`annotation ${PluginAnnotations.revisionCopies} has an unknown format`);
  }
  return parsed['revisions'].map((entry, index) => {
    if (
      !isJsonObject(entry) ||
      (entry['role'] !== 'instancetype' && entry['role'] !== 'preference') ||
      typeof entry['name'] !== 'string' ||
      typeof entry['dataGzipBase64'] !== 'string' ||
      !isJsonObject(entry['labels']) ||
      (entry['inBackup'] !== undefined && typeof entry['inBackup'] !== 'boolean')
    ) {
      throw new RevisionCopyError(`annotation ${PluginAnnotations.revisionCopies}: entry ${index} is malformed`);
    }
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(entry['labels'])) if (typeof v === 'string') labels[k] = v;
    let data: JsonValue;
    try {
      data = parseJson(gunzipSync(Buffer.from(entry['dataGzipBase64'], 'base64')).toString('utf8'), 'revision data');
    } catch (err) {
      throw new RevisionCopyError(`revision copy ${entry['name']} cannot be decoded: ${String(err)}`);
    }
    const inBackup = entry['inBackup'];
    return { role: entry['role'], name: entry['name'], labels, data, ...(typeof inBackup === 'boolean' ? { inBackup } : {}) };
  });
}

/** The copies embedded in a VM, or [] when it has none. */
export function revisionCopiesOf(vm: KubeObject): RevisionCopy[] {
  const value = vm.metadata.annotations?.[PluginAnnotations.revisionCopies];
  return value === undefined ? [] : decodeRevisionCopies(value);
}
