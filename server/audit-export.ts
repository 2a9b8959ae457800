// The audit log as a download: CSV (for spreadsheets) or JSON lines' worth of entries as one JSON
// array, newest first, paged through the same query the admin API answers.
import type { AuditEntry, AuditLog, AuditQuery } from './audit-log.js';

export const MAX_EXPORT_ENTRIES = 100_000;
const COLUMNS = [
  'id',
  'time',
  'policy',
  'label',
  'source',
  'package',
  'version',
  'rule',
  'outcome',
  'reason',
  'userAgent',
] as const;

/**
 * One CSV field. Labels, package names and user agents come from clients: a cell starting with
 * `=`, `+`, `-`, `@`, tab or CR is a formula to a spreadsheet, so it is prefixed with `'`; one
 * holding a separator a spreadsheet may split on is quoted.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  // Quoted on `;` and tab too: spreadsheets in locales whose list separator is `;` split an
  // unquoted cell there, and `npm/1;=HYPERLINK(...)` would become a cell that is a formula.
  return /[",;\t\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(entry: AuditEntry): string {
  return `${COLUMNS.map((c) => csvField(entry[c])).join(',')}\r\n`;
}

export const CSV_HEADER = `${COLUMNS.join(',')}\r\n`;

/** Every entry matching the query (up to MAX_EXPORT_ENTRIES), newest first, a page at a time. */
export async function* exportEntries(
  audit: AuditLog,
  query: AuditQuery,
  max = MAX_EXPORT_ENTRIES,
): AsyncGenerator<AuditEntry> {
  let cursor = query.cursor;
  let left = Math.min(max, query.limit ?? max);
  while (left > 0) {
    const page = await audit.query({ ...query, limit: Math.min(1000, left), ...(cursor ? { cursor } : {}) });
    for (const entry of page.entries) yield entry;
    left -= page.entries.length;
    if (page.nextCursor === null || page.entries.length === 0) return;
    cursor = page.nextCursor;
  }
}

export async function* auditCsv(entries: AsyncIterable<AuditEntry>): AsyncGenerator<string> {
  yield CSV_HEADER;
  for await (const entry of entries) yield csvRow(entry);
}

export async function* auditJson(entries: AsyncIterable<AuditEntry>): AsyncGenerator<string> {
  yield '[';
  let first = true;
  for await (const entry of entries) {
    yield `${first ? '\n' : ',\n'}${JSON.stringify(entry)}`;
    first = false;
  }
  yield '\n]\n';
}
