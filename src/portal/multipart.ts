/**
 * @module portal/multipart
 * Just enough `multipart/form-data` (RFC 7578) for the admin pages' token upload: text parts
 * only, a bounded body, and every part's content kept as UTF-8 text by field name. Files
 * are read into memory, so the bound is small (token CSVs are a few hundred kilobytes).
 */
import type { IncomingMessage } from 'node:http';
import { errors } from '../errors/errors.ts';

/** Reads a multipart body of at most `maxBytes` into field name -> text (the first part of each name wins). */
export async function readMultipart(req: IncomingMessage, maxBytes: number): Promise<Map<string, string>> {
  const type = req.headers['content-type'] ?? '';
  const m = /^multipart\/form-data\s*;.*?boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(type);
  if (!m) throw errors.badRequest(`not a multipart form: ${JSON.stringify(type.slice(0, 100))}`);
  const boundary = m[1] ?? m[2]!;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw errors.badRequest(`multipart body larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return parseMultipart(Buffer.concat(chunks), boundary);
}

/** Splits a complete multipart body into its parts' names and texts. */
export function parseMultipart(body: Buffer, boundary: string): Map<string, string> {
  const fields = new Map<string, string>();
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos === -1) throw errors.badRequest('multipart body without its boundary');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') return fields;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), pos);
    if (next === -1) throw errors.badRequest('multipart body ends inside a part');
    const part = body.subarray(pos + 2, next); // skip the CRLF after the boundary
    const split = part.indexOf('\r\n\r\n');
    if (split === -1) throw errors.badRequest('multipart part without headers');
    const headers = part.subarray(0, split).toString('utf8');
    const name = /content-disposition:[^\r\n]*?\bname="([^"]*)"/i.exec(headers)?.[1];
    if (name !== undefined && !fields.has(name)) fields.set(name, part.subarray(split + 4).toString('utf8'));
    pos = next + 2;
  }
}
