// Reading Velero's server log: logrus text lines (`time="..." level=info msg="..." key=value ...`), the
// form in which Velero also re-logs its plugins' lines.

/** A logrus text field: key=value or key="quoted value". */
export function field(line: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${key}=("(?:[^"\\\\]|\\\\.)*"|\\S+)`).exec(line);
  if (m?.[1] === undefined) return undefined;
  return m[1].startsWith('"') ? (JSON.parse(m[1]) as string) : m[1];
}
