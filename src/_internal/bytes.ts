/**
 * Byte helpers shared by the server's outbox, the request helpers and the CLI.
 * @internal
 */

/** Concatenates `chunks` (holes allowed) into one array of `size` bytes. */
export function concatBytes(
  chunks: ReadonlyArray<Uint8Array | undefined>,
  size?: number,
): Uint8Array<ArrayBuffer> {
  let total = size;
  if (total === undefined) {
    total = 0;
    for (const chunk of chunks) if (chunk !== undefined) total += chunk.byteLength;
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    if (chunk === undefined) continue;
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
