// .proto files are embedded in the bundle as text (esbuild `text` loader; a vitest plugin in tests),
// so the single executable never reads them from disk.
declare module '*.proto' {
  const text: string;
  export default text;
}
