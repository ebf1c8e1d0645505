/**
 * One declaration per admin route: Hono gets the handler, and the OpenAPI 3.1
 * document is generated from the same declarations and the same zod schemas
 * the handler's input is validated with (path, query, body) and its answer
 * is typed by, so neither the document nor the answers can drift from the API.
 *
 * @see https://spec.openapis.org/oas/v3.1.0
 */
import type { Context, Hono } from 'hono'
import * as z from 'zod/mini'
import type { BodyLimit } from '../http/body'
import type { AppEnv } from '../http/context'
import { parseParams, parseQuery, readJsonBody } from '../http/validate'

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'

type Schema = z.ZodMiniType | undefined
type Out<S extends Schema> = S extends z.ZodMiniType ? z.output<S> : undefined
type In<S extends Schema> = S extends z.ZodMiniType ? z.input<S> : undefined

export interface RouteInput<P extends Schema, Q extends Schema, B extends Schema> {
  params: Out<P>
  query: Out<Q>
  body: Out<B>
}

export interface RouteSpec<P extends Schema, Q extends Schema, B extends Schema, R extends Schema> {
  method: Method
  /** Hono path, relative to /api/v1, e.g. `/orgs/:id/hostnames`. */
  path: string
  summary: string
  /** Who may call it. */
  access: 'ops' | 'ops or partner (own subtree)' | 'public'
  params?: P
  query?: Q
  body?: B
  /** The bound on the body (default: `json`, 1 MiB). */
  bodyLimit?: BodyLimit
  /** The answer's schema; absent for 204. */
  response?: R
  success: { status: 200 | 201 | 204; description: string }
  /** Statuses besides 401 that the route answers on purpose. */
  errors: number[]
  handler: (
    c: Context<AppEnv>,
    input: RouteInput<P, Q, B>,
  ) => R extends z.ZodMiniType ? Promise<In<R>> | In<R> : Promise<void> | void
}

type AnySpec = RouteSpec<Schema, Schema, Schema, Schema>

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (the message names the field)',
  401: 'Missing, unknown or revoked API key',
  403: 'Not allowed for this key',
  404: "Not found, or outside the key's subtree",
  409: 'Conflict with the current state',
  413: 'Body too large',
  415: 'Body is not JSON',
  422: 'The source list is larger than the gateway accepts (the message names the cap and the count seen)',
  429: 'Too many requests for this key or address; retry after Retry-After seconds',
  501: 'Not available in this configuration',
  502: 'An upstream service (Cloudflare, Microsoft) failed or refused; nothing was changed',
  503: 'An upstream service is rate limiting or unavailable; retry later',
  504: 'An upstream service timed out',
}

function jsonSchema(schema: z.ZodMiniType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' })
  return rest
}

/** Path or query parameters of an object schema, as OpenAPI parameter objects. */
function parameters(schema: z.ZodMiniType | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return []
  const object = jsonSchema(schema, 'input') as {
    properties?: Record<string, Record<string, unknown>>
    required?: string[]
  }
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (object.required ?? []).includes(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }))
}

export class AdminRoutes {
  readonly specs: AnySpec[] = []

  constructor(private readonly app: Hono<AppEnv>) {}

  add<
    P extends Schema = undefined,
    Q extends Schema = undefined,
    B extends Schema = undefined,
    R extends Schema = undefined,
  >(spec: RouteSpec<P, Q, B, R>): void {
    this.specs.push(spec as unknown as AnySpec)
    this.app.on(spec.method.toUpperCase(), spec.path, async (c) => {
      // Path and query first: a request for something that cannot exist is refused before its body is read.
      const params = spec.params ? parseParams(c, spec.params) : undefined
      const query = spec.query ? parseQuery(c, spec.query) : undefined
      const body = spec.body ? await readJsonBody(c, spec.body, spec.bodyLimit) : undefined
      const result = await spec.handler(c, { params, query, body } as RouteInput<P, Q, B>)
      if (spec.success.status === 204) return c.body(null, 204)
      return c.json(result as object, spec.success.status)
    })
  }

  /** The OpenAPI 3.1 document of every registered route. */
  openApi(serverUrl: string): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {}
    for (const spec of this.specs) {
      const openApiPath = spec.path.replace(/:([A-Za-z]+)/g, '{$1}')
      const responses: Record<string, unknown> = {
        [spec.success.status]: spec.response
          ? {
              description: spec.success.description,
              content: { 'application/json': { schema: jsonSchema(spec.response, 'output') } },
            }
          : { description: spec.success.description },
      }
      for (const status of spec.access === 'public' ? [...spec.errors, 429] : [401, ...spec.errors, 429]) {
        responses[status] = {
          description: ERROR_DESCRIPTIONS[status] ?? 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        }
      }
      const operation: Record<string, unknown> = {
        summary: spec.summary,
        description: `Access: ${spec.access}.`,
        parameters: [...parameters(spec.params, 'path'), ...parameters(spec.query, 'query')],
        responses,
        ...(spec.access === 'public' ? { security: [] } : {}),
      }
      if (spec.body) {
        operation.requestBody = {
          required: true,
          content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } },
        }
      }
      paths[openApiPath] ??= {}
      paths[openApiPath][spec.method] = operation
    }
    return {
      openapi: '3.1.0',
      info: {
        title: 'Edge SSO gateway admin API',
        version: '1',
        description:
          'Partners and the provider manage organizations, hostnames, phone systems and SSO lists. Errors are {"error":{"code","message"}}.',
      },
      servers: [{ url: serverUrl }],
      security: [{ bearer: [] }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'The ops key, or a partner key (sgk_…)' },
        },
        schemas: {
          Error: {
            type: 'object',
            required: ['error'],
            properties: {
              error: {
                type: 'object',
                required: ['code', 'message'],
                properties: {
                  code: { type: 'string' },
                  message: { type: 'string' },
                  field: { type: 'string' },
                  correlationId: { type: 'string' },
                },
              },
            },
          },
        },
      },
      paths,
    }
  }
}
