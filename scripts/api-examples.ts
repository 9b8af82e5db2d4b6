// Regenerates the example answers in docs/API.md by running its requests, in the order the
// document shows them, against a real server: the app listening on a local port, on a fresh
// in-memory SQLite store with the demo catalog. The server's clock and ids are deterministic
// (a fixed start, one second per request, UUIDv7 made from that clock and a counter), so the same
// code gives the same document, and test/scripts/api-examples.test.ts fails when it would not.
//
// What is run:
// - a ```sh block holding one curl command; the block after it becomes the answer (with
//   `curl -i`, a block of status line and headers, then the JSON block right after it if any);
// - a JSON block preceded by `<!-- request: METHOD /path ['json body'] [-H 'name: value']... -->`;
// - `<!-- setup: METHOD /path ['json body'] [as ID] -->` runs a request whose answer is not shown;
//   with `as ID`, ID in the text stands for the order (or else reservation) it made;
// - `<!-- clock: +MS -->` moves the server's clock before the next request.
// Other JSON blocks are shapes, not captures, and are left alone. Ids in the text are renamed to
// the ones the server gave.
//
// Usage: npm run docs:api (writes docs/API.md)
import { readFile, writeFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { ManualClock } from '../src/domain/clock.js';
import { buildDemoApp } from './demo-app.js';

export const API_MD = fileURLToPath(new URL('../docs/API.md', import.meta.url));
const START = Date.parse('2026-03-02T09:00:00.000Z');
const STEP_MS = 1_000;
const SHOWN_HEADERS = ['location', 'retry-after', 'idempotent-replayed', 'content-type'];
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  showHeaders: boolean;
}

/** Shell words, with '...' and "..." quoting and backslash-newline continuations. */
function words(command: string): string[] {
  const out: string[] = [];
  const pattern = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const match of command.replace(/\\\n/g, ' ').matchAll(pattern)) {
    out.push(match[1] ?? (match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] as string)));
  }
  return out;
}

export function parseCurl(command: string): Request {
  const args = words(command);
  const request: Request = { method: 'GET', path: '/', headers: {}, showHeaders: false };
  for (let i = 1; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-s') continue;
    else if (arg === '-i') request.showHeaders = true;
    else if (arg === '-X') request.method = args[++i] as string;
    else if (arg === '-H') {
      const [name, ...value] = (args[++i] as string).split(':');
      request.headers[(name as string).trim().toLowerCase()] = value.join(':').trim();
    } else if (arg === '-d') {
      request.body = args[++i] as string;
      if (request.method === 'GET') request.method = 'POST';
    } else request.path = new URL(arg).pathname + new URL(arg).search;
  }
  return request;
}

/** `METHOD /path ['body'] [-H 'name: value']...` from a request comment, as a curl would say it. */
const parseComment = (spec: string): Request => {
  const [method, path, ...rest] = words(spec);
  const body = rest[0] !== undefined && rest[0] !== '-H' ? rest.shift() : undefined;
  const request = parseCurl(['curl', '-X', method, `http://localhost:5000${path}`, ...rest.map((w) => `'${w}'`)].join(' '));
  if (body !== undefined) {
    request.body = body;
    request.headers['content-type'] ??= 'application/json';
  }
  return request;
};

/** UUIDv7 from the server's clock and a counter: the same run gives the same ids. */
function deterministicIds(clock: ManualClock): () => string {
  let counter = 0;
  return () => {
    counter++;
    const time = clock.now().toString(16).padStart(12, '0');
    const n = counter.toString(16).padStart(15, '0');
    return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${n.slice(0, 3)}-8${n.slice(3, 6)}-${n.slice(6).padStart(12, '0')}`;
  };
}

const fence = (lang: string, text: string) => `\`\`\`${lang}\n${text}\n\`\`\``;
const BLOCK = /```(\w*)\n([\s\S]*?)\n```/y;

/** docs/API.md with every example request run again and its answer written in. */
export async function regenerate(markdown: string): Promise<string> {
  const clock = new ManualClock(START);
  const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: 'sqlite::memory:', RATE_LIMIT_MAX: '0' });
  const stockhold = await buildDemoApp({ config, clock, ids: deterministicIds(clock) });
  await stockhold.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = stockhold.app.server.address() as AddressInfo;
  const renamed = new Map<string, string>();
  const rename = (text: string) => text.replace(UUID, (id) => renamed.get(id) ?? id);
  const send = async (request: Request) => {
    clock.advance(STEP_MS);
    const res = await fetch(`http://127.0.0.1:${port}${rename(request.path)}`, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: rename(request.body) } : {}),
    });
    return { res, body: await res.text() };
  };
  const pretty = (body: string) => (body === '' ? '' : JSON.stringify(JSON.parse(body), null, 2));
  /** The new answer replaces the old one; ids the old one showed are renamed to the new ones. */
  const answer = (old: string, fresh: string) => {
    const before = old.match(UUID) ?? [];
    const after = fresh.match(UUID) ?? [];
    before.forEach((id, i) => after[i] !== undefined && !renamed.has(id) && renamed.set(id, after[i] as string));
    return fresh;
  };

  try {
    let out = '';
    let at = 0;
    let pending: Request | undefined;
    while (at < markdown.length) {
      const comment = /<!-- (request|clock|setup): (.*?) -->/y;
      comment.lastIndex = at;
      const directive = markdown.startsWith('<!--', at) ? comment.exec(markdown) : null;
      if (directive) {
        const spec = directive[2] as string;
        if (directive[1] === 'clock') clock.advance(Number(spec.replace('+', '')));
        else if (directive[1] === 'request') pending = parseComment(spec);
        else {
          const [request, alias] = spec.split(/ as (?=[0-9a-f-]+$)/);
          const { res, body } = await send(parseComment(request as string));
          if (!res.ok) throw new Error(`setup ${spec} answered ${res.status}: ${body}`);
          const made = (JSON.parse(body) as { data: { orderId?: string; reservationId?: string } }).data;
          if (alias) renamed.set(alias, (made.orderId ?? made.reservationId) as string);
        }
        out += directive[0];
        at = comment.lastIndex;
        continue;
      }
      BLOCK.lastIndex = at;
      const block = markdown.startsWith('```', at) ? BLOCK.exec(markdown) : null;
      if (!block) {
        out += markdown[at];
        at++;
        continue;
      }
      const [whole, lang, text] = block as unknown as [string, string, string];
      at += whole.length;
      if (lang === 'sh' && text.trimStart().startsWith('curl ') && !text.includes('\n\n')) {
        out += fence('sh', rename(text));
        pending = parseCurl(text);
        continue;
      }
      if (!pending) {
        out += whole;
        continue;
      }
      const request = pending;
      pending = undefined;
      const { res, body } = await send(request);
      if (request.showHeaders) {
        const headers = SHOWN_HEADERS.filter((name) => res.headers.get(name) !== null).map((name) => `${name}: ${res.headers.get(name)}`);
        out += fence('', [`HTTP/1.1 ${res.status} ${STATUS_CODES[res.status]}`, ...headers].join('\n'));
        // The JSON block right after the headers, if the document shows one, is the body.
        const next = /\n\n```json\n([\s\S]*?)\n```/y;
        next.lastIndex = at;
        const json = next.exec(markdown);
        if (json) {
          out += `\n\n${fence('json', answer(json[1] as string, pretty(body)))}`;
          at = next.lastIndex;
        }
      } else {
        out += fence(lang, answer(text, pretty(body)));
      }
    }
    return rename(out);
  } finally {
    await stockhold.app.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = await readFile(API_MD, 'utf8');
  await writeFile(API_MD, await regenerate(current));
  process.stdout.write(`wrote ${API_MD}\n`);
}
