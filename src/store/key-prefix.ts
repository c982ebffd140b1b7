/**
 * A key prefix as a range of an index on keys: every key starting with `prefix` is at or after
 * `prefix` and before `prefixEnd(prefix)`, and no other key is. Both adapters order keys as binary
 * strings (SQLite's BINARY collation compares the UTF-8 bytes; MongoDB's default, the simple
 * binary comparison, too), and UTF-8 byte order is code point order, so the end is the prefix
 * with its last code point one higher. Pure.
 */

/** The least string after every string starting with `prefix`; undefined: none (every key is). */
export function prefixEnd(prefix: string): string | undefined {
  // Code points (not graphemes, not UTF-16 halves): the order compared is by code point.
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = (points.pop() ?? '').codePointAt(0) ?? 0;
    if (last < 0x10ffff) {
      // U+D800–U+DFFF are no characters (UTF-16 halves): past U+D7FF comes U+E000.
      return points.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
    }
    // A last code point of U+10FFFF has no successor: the range ends after the shorter prefix.
  }
  return undefined;
}

/**
 * The key ranges of the siblings of leased jobs (LeaseOptions.siblingsBy), one per tenant and
 * prefix: each job's key up to and including the first `separator`, as a range of the unique
 * (tenant, queue, key) index. A key without the separator has no siblings.
 */
export function siblingRanges(
  jobs: readonly { readonly tenant: string; readonly key: string }[],
  separator: string,
): { tenant: string; from: string; to: string }[] {
  const ranges = new Map<string, { tenant: string; from: string; to: string }>();
  for (const { tenant, key } of jobs) {
    const at = separator === '' ? -1 : key.indexOf(separator);
    const from = at < 0 ? undefined : key.slice(0, at + separator.length);
    const to = from === undefined ? undefined : prefixEnd(from);
    if (from !== undefined && to !== undefined) {
      ranges.set(`${tenant}\u0000${from}`, { tenant, from, to });
    }
  }
  return [...ranges.values()];
}
