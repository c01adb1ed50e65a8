/**
 * @module factors/oath/csv
 * Just enough RFC 4180 for token files: quoted fields (with `""` for a quote, and commas or
 * line breaks inside), CRLF or LF line ends, a leading UTF-8 BOM. Every record carries the
 * line it starts on, so an error report can name it. Hand-written, not a CSV library: the format
 * is small, the input is an admin's upload, and every failure must name its line.
 */

interface CsvRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  fields: string[];
}

export type CsvParse = { ok: true; records: CsvRecord[] } | { ok: false; line: number; error: string };

/**
 * Splits `text` into records. Blank lines are skipped. A quote that is never closed, or
 * text after a closing quote, fails the whole parse with the line where the field began:
 * beyond it nothing can be trusted.
 */
export function parseCsv(text: string): CsvParse {
  const s = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  while (i < s.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let value = '';
      if (s[i] === '"') {
        const fieldLine = line;
        i++;
        for (;;) {
          if (i >= s.length) return { ok: false, line: fieldLine, error: 'a quoted field is never closed' };
          const c = s[i]!;
          if (c === '"') {
            if (s[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          value += c;
          i++;
        }
        if (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r') {
          return { ok: false, line: fieldLine, error: 'text after a closing quote (write a quote inside a quoted field as "")' };
        }
      } else {
        while (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r') value += s[i++];
      }
      fields.push(value);
      if (s[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (s[i] === '\r') i++;
    if (s[i] === '\n') i++;
    line++;
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: start, fields });
  }
  return { ok: true, records };
}

/** Characters that make a spreadsheet treat a cell as a formula (CSV injection, OWASP). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One field, quoted when it needs to be; a field a spreadsheet would run as a formula gets a leading `'`. */
function csvField(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Records as CSV text with CRLF line ends (RFC 4180 section 2). */
export function writeCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
}
