/**
 * One declaration per admin route: Hono gets the handler, and the OpenAPI 3.1
 * document is generated from the same declarations and the same zod schemas
 * the handlers validate with, so the document cannot drift from the API.
 *
 * @see https://spec.openapis.org/oas/v3.1.0
 */
import type { Context, Hono } from 'hono'
import * as z from 'zod/mini'
import type { AppEnv } from '../app-env'
import { readJsonBody } from '../http/validate'

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'

export interface QueryParam {
  name: string
  description: string
}

export interface RouteSpec<B extends z.ZodMiniType | undefined = undefined> {
  method: Method
  /** Hono path, relative to /api/v1, e.g. `/orgs/:id/hostnames`. */
  path: string
  summary: string
  /** Who may call it. */
  access: 'ops' | 'ops or partner (own subtree)' | 'public'
  body?: B
  query?: QueryParam[]
  success: { status: 200 | 201 | 204; description: string }
  /** Statuses besides 401 that the route answers on purpose. */
  errors: number[]
  handler: (c: Context<AppEnv>, body: B extends z.ZodMiniType ? z.output<B> : undefined) => Promise<Response> | Response
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (the message names the field)',
  401: 'Missing, unknown or revoked API key',
  403: 'Not allowed for this key',
  404: "Not found, or outside the key's subtree",
  409: 'Conflict with the current state',
  413: 'Body too large',
  415: 'Body is not JSON',
  501: 'Not available in this configuration',
  502: 'An upstream service (Cloudflare, Microsoft) failed or refused; nothing was changed',
  503: 'An upstream service is rate limiting or unavailable; retry later',
  504: 'An upstream service timed out',
}

export class AdminRoutes {
  readonly specs: RouteSpec<z.ZodMiniType | undefined>[] = []

  constructor(private readonly app: Hono<AppEnv>) {}

  add<B extends z.ZodMiniType | undefined = undefined>(spec: RouteSpec<B>): void {
    this.specs.push(spec as unknown as RouteSpec<z.ZodMiniType | undefined>)
    this.app.on(spec.method.toUpperCase(), spec.path, async (c) => {
      const body = spec.body ? await readJsonBody(c, spec.body) : undefined
      return spec.handler(c, body as never)
    })
  }

  /** The OpenAPI 3.1 document of every registered route. */
  openApi(serverUrl: string): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {}
    for (const spec of this.specs) {
      const openApiPath = spec.path.replace(/:([A-Za-z]+)/g, '{$1}')
      const pathParams = [...spec.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      }))
      const queryParams = (spec.query ?? []).map((q) => ({
        name: q.name,
        in: 'query',
        required: false,
        description: q.description,
        schema: { type: 'string' },
      }))
      const responses: Record<string, unknown> = {
        [spec.success.status]:
          spec.success.status === 204
            ? { description: spec.success.description }
            : {
                description: spec.success.description,
                content: { 'application/json': { schema: { type: 'object' } } },
              },
      }
      for (const status of spec.access === 'public' ? spec.errors : [401, ...spec.errors]) {
        responses[status] = {
          description: ERROR_DESCRIPTIONS[status] ?? 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        }
      }
      const operation: Record<string, unknown> = {
        summary: spec.summary,
        description: `Access: ${spec.access}.`,
        parameters: [...pathParams, ...queryParams],
        responses,
        ...(spec.access === 'public' ? { security: [] } : {}),
      }
      if (spec.body) {
        operation.requestBody = {
          required: true,
          content: {
            'application/json': {
              schema: z.toJSONSchema(spec.body, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }),
            },
          },
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
