/**
 * A small RFC 4180 CSV reader for the CMS files (quoted fields, doubled quotes, CRLF or LF, quoted
 * line breaks). The CMS drug files are Latin-1: callers decode the bytes first (`latin1` in Node).
 * Hand-written because the import is its only user and the grammar is this small.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') {
        i++;
      }
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += ch;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Trims a CMS cell: no-break spaces and runs of blanks become one space. */
export function cell(value: string | undefined): string {
  return (value ?? '').replace(/[\s\u00a0]+/g, ' ').trim();
}
