// Checks HTTP answers against the server's own OpenAPI document: the status must be documented
// for the operation, the body must validate against that status's schema (which refuses
// undocumented fields), and every header the route sends must be documented. The test helpers
// run every injected request through it, so the description cannot drift from the server.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Headers that describe the transport or apply to every answer alike (security policy, CORS,
 * caching of static files), not the operation: documenting them per operation would say nothing.
 */
const TRANSPORT_HEADERS = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'date',
  'connection',
  'keep-alive',
  'vary',
  'content-security-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
  'cross-origin-resource-policy',
]);
const isTransportHeader = (name: string) => TRANSPORT_HEADERS.has(name) || name.startsWith('access-control-');

/** Paths served outside the document: the interactive reference and its assets. */
const UNDOCUMENTED_PREFIXES = ['/docs'];

/** Answered before routing, on any path (see the document's info.description). */
const UNROUTED = new Map<number, string[]>([
  // The body of a request no route takes is still read, so it can be refused as a body first.
  [400, ['BAD_REQUEST', 'VALIDATION_ERROR', 'INVALID_JSON']],
  [404, ['ROUTE_NOT_FOUND']],
  [413, ['PAYLOAD_TOO_LARGE']],
  [415, ['UNSUPPORTED_MEDIA_TYPE']],
  [429, ['RATE_LIMITED']],
]);

export interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

interface Operation {
  method: string;
  pattern: RegExp;
  path: string;
  operation: Json;
}

export class DocumentConformance {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly operations: Operation[] = [];
  private readonly validators = new Map<object, ValidateFunction>();

  constructor(readonly document: Json) {
    (addFormats as unknown as (ajv: Ajv2020) => void)(this.ajv);
    for (const [path, item] of Object.entries<Json>(document.paths)) {
      const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/]*');
      for (const [method, operation] of Object.entries<Json>(item)) {
        this.operations.push({ method: method.toUpperCase(), pattern: new RegExp(`^${source}$`), path, operation });
      }
    }
  }

  /** What is wrong with this answer to `method url`, per the document; empty when it conforms. */
  violations(method: string, url: string, answer: Answer): string[] {
    // CORS preflights are the browser's protocol, answered the same for every route.
    if (method.toUpperCase() === 'OPTIONS') return [];
    // As the server sees it: dot segments (even percent-encoded) resolved, the query dropped.
    const path = new URL(url, 'http://localhost').pathname;
    if (UNDOCUMENTED_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) return [];
    const asMethod = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
    const found = this.operations.find((op) => op.method === asMethod && op.pattern.test(path));
    const where = `${method} ${url} -> ${answer.status}`;
    if (!found) return this.unrouted(where, answer);
    const response: Json | undefined = found.operation.responses[String(answer.status)];
    if (!response) return [`${where}: status ${answer.status} is not documented for ${asMethod} ${found.path}`];
    const problems: string[] = [];
    const documentedHeaders = new Map(Object.entries<Json>(response.headers ?? {}).map(([name, h]) => [name.toLowerCase(), h]));
    for (const name of Object.keys(answer.headers)) {
      if (!isTransportHeader(name) && !documentedHeaders.has(name)) problems.push(`${where}: header ${name} is not documented`);
    }
    for (const [name, header] of documentedHeaders) {
      if (header.required && answer.headers[name] === undefined) problems.push(`${where}: required header ${name} is missing`);
    }
    const schema = response.content?.['application/json']?.schema;
    if (schema && method.toUpperCase() !== 'HEAD') problems.push(...this.bodyProblems(where, schema, answer.body));
    return problems;
  }

  private unrouted(where: string, answer: Answer): string[] {
    const codes = UNROUTED.get(answer.status);
    if (!codes) return [`${where}: no documented operation answers this`];
    if (answer.body === '') return []; // a HEAD request: headers only
    const body = JSON.parse(answer.body) as Json;
    return codes.includes(body.code) && body.success === false ? [] : [`${where}: unexpected unrouted answer ${answer.body}`];
  }

  private bodyProblems(where: string, schema: Json, body: string): string[] {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return [`${where}: body is not JSON: ${body.slice(0, 200)}`];
    }
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.validators.set(schema, validate);
    }
    if (validate(value)) return [];
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    return [`${where}: body does not match the document: ${errors.join('; ')}; body: ${body.slice(0, 300)}`];
  }
}

