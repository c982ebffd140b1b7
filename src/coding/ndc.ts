/**
 * NDC normalization (coding-rules R11.1): the 11-digit 5-4-2 form without hyphens that claims carry.
 * A 10-digit NDC printed as 4-4-2, 5-3-2 or 5-4-1 is padded with a leading zero in its short
 * segment; 11 digits pass through. An unhyphenated 10-digit code is ambiguous (its layout is
 * unknown) and gives undefined, as does anything else.
 */
export function normalizeNdc(printed: string): string | undefined {
  const s = printed.trim();
  const parts = s.split('-');
  if (parts.length === 3 && parts.every((p) => /^\d+$/.test(p))) {
    const [a = '', b = '', c = ''] = parts;
    switch (`${a.length}-${b.length}-${c.length}`) {
      case '5-4-2':
        return a + b + c;
      case '4-4-2':
        return `0${a}${b}${c}`;
      case '5-3-2':
        return `${a}0${b}${c}`;
      case '5-4-1':
        return `${a}${b}0${c}`;
      default:
        return undefined;
    }
  }
  const digits = s.replace(/\s/g, '');
  return /^\d{11}$/.test(digits) ? digits : undefined;
}

/**
 * Every 11-digit reading of a printed NDC: the one normalization when the layout is known (hyphens
 * or 11 digits), and for an unhyphenated 10-digit code the three paddings of 4-4-2, 5-3-2 and
 * 5-4-1 — the caller keeps the one a package table knows (R11.1).
 */
export function ndc11Candidates(printed: string): string[] {
  const known = normalizeNdc(printed);
  if (known) {
    return [known];
  }
  const d = printed.trim().replace(/[\s-]/g, '');
  if (!/^\d{10}$/.test(d)) {
    return [];
  }
  return [`0${d}`, `${d.slice(0, 5)}0${d.slice(5)}`, `${d.slice(0, 9)}0${d.slice(9)}`];
}

/** 11 digits as printed 5-4-2 with hyphens. */
export function hyphenatedNdc(ndc11: string): string {
  return `${ndc11.slice(0, 5)}-${ndc11.slice(5, 9)}-${ndc11.slice(9)}`;
}
