/**
 * @module portal/multipart
 * `multipart/form-data` (RFC 7578) for the admin pages' token upload, parsed by the
 * platform's own fetch `Request.formData()` after the body is read with a size bound. Every
 * part is kept as UTF-8 text by field name, files included (a token CSV is a few hundred
 * kilobytes, so the bound is small).
 */
import type { IncomingMessage } from 'node:http';
import { errors } from '../errors/errors.ts';

/** Reads a multipart body of at most `maxBytes` into field name -> text (the first part of each name wins). */
export async function readMultipart(req: IncomingMessage, maxBytes: number): Promise<Map<string, string>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;.*?boundary=/i.test(type))
    throw errors.badRequest(`not a multipart form: ${JSON.stringify(type.slice(0, 100))}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw errors.badRequest(`multipart body larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  let form: FormData;
  try {
    form = await new Request('http://gateway.invalid/', {
      method: 'POST',
      headers: { 'content-type': type },
      body: Buffer.concat(chunks),
    }).formData();
  } catch (err) {
    throw errors.badRequest(`malformed multipart body: ${err instanceof Error ? err.message : String(err)}`);
  }
  const fields = new Map<string, string>();
  for (const [name, value] of form) {
    if (!fields.has(name)) fields.set(name, typeof value === 'string' ? value : await value.text());
  }
  return fields;
}
