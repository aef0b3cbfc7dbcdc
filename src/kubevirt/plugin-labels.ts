// Labels the plugin puts on backed-up items so that a user can restore a part of a backup with a label
// selector (one disk by its PVC UID, one VM by its name), and takes off again on restore. A user's own
// label of the same key is not lost: its value travels in an annotation and comes back on restore.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../velero/types.ts';

/** A label value holds at most 63 characters; an object name up to 253. */
export const MAX_LABEL_VALUE = 63;

/**
 * A label value naming an object, valid for every DNS-1123 subdomain name: the name itself when it fits
 * in 63 characters, else its first 57 characters and 6 hex digits of its SHA-256 (Velero's own
 * label.GetValidName rule, so users meet one convention). Deterministic, so a user (or `inspect`) can
 * compute it; it starts with the name's first character and ends in a hex digit, so it is always valid.
 */
export function nameLabelValue(name: string): string {
  if (name.length <= MAX_LABEL_VALUE) return name;
  return name.slice(0, MAX_LABEL_VALUE - 6) + createHash('sha256').update(name).digest('hex').slice(0, 6);
}

/** The item with `key=value`; a different value the user had under that key is kept in `originalAnnotation`. */
export function withPluginLabel(item: KubeObject, key: string, value: string, originalAnnotation: string): KubeObject {
  const labels = { ...(item.metadata.labels ?? {}) };
  const earlier = labels[key];
  const metadata = { ...item.metadata, labels: { ...labels, [key]: value } };
  if (earlier !== undefined) metadata.annotations = { ...(item.metadata.annotations ?? {}), [originalAnnotation]: earlier };
  return { ...item, metadata };
}

/**
 * The item as the user had it: the user's value kept in `originalAnnotation` comes back, else the label
 * goes. With `pluginValue`, a label without a kept original is removed only when it holds the value the
 * plugin writes (a user's own label in a backup made without the plugin stays).
 */
export function withoutPluginLabel(
  item: KubeObject,
  key: string,
  originalAnnotation: string,
  pluginValue?: string,
): { item: KubeObject; change?: string } {
  const labels = item.metadata.labels;
  if (labels === undefined || !(key in labels)) return { item };
  const annotations = { ...(item.metadata.annotations ?? {}) };
  const original = annotations[originalAnnotation];
  if (original === undefined && pluginValue !== undefined && labels[key] !== pluginValue) return { item };
  const newLabels = { ...labels };
  let change: string;
  if (original !== undefined) {
    newLabels[key] = original;
    delete annotations[originalAnnotation];
    change = `restored the original ${key} label value`;
  } else {
    delete newLabels[key];
    change = `removed the ${key} label added at backup`;
  }
  // Only metadata changes: the rest of the item is shared, as the callers never change it in place.
  const { annotations: _previous, ...metadata } = item.metadata;
  const out: KubeObject = { ...item, metadata: { ...metadata, labels: newLabels } };
  if (Object.keys(annotations).length > 0) out.metadata.annotations = annotations;
  return { item: out, change };
}
