import * as z from 'zod/mini'
import { diagnosisSchema } from '../../hostnames/diagnose'
import { redirectUrisOf } from '../../hostnames/redirect-uris'
import {
  attachHostname,
  attachHostnameSchema,
  checkHostname,
  detachHostname,
  diagnoseHostname,
  getHostname,
  listHostnames,
  updateHostname,
  updateHostnameSchema,
} from '../../hostnames/service'
import { hostnameSchema, hostnameView } from '../../hostnames/view'
import { byHostname, byId, SUBTREE } from '../params'
import type { AdminRoutes } from '../registry'

const UPSTREAM = [502, 503, 504]

export function hostnameRoutes(routes: AdminRoutes): void {
  routes.add({
    method: 'post',
    path: '/orgs/:id/hostnames',
    summary: 'Attach a login hostname (a provider subdomain, or a custom domain through Cloudflare for SaaS)',
    access: SUBTREE,
    params: byId,
    body: attachHostnameSchema,
    response: hostnameSchema,
    success: { status: 201, description: '{hostname, status, verification, ...}' },
    errors: [400, 404, 409, ...UPSTREAM],
    handler: async (c, { params, body }) =>
      hostnameView(
        await attachHostname(
          c.env.DB,
          c.var.config,
          redirectUrisOf(c.env),
          c.var.principal,
          params.id,
          body,
          Date.now(),
        ),
      ),
  })

  routes.add({
    method: 'get',
    path: '/orgs/:id/hostnames',
    summary: "List an organization's hostnames with their status",
    access: SUBTREE,
    params: byId,
    response: z.object({ hostnames: z.array(hostnameSchema) }),
    success: { status: 200, description: '{hostnames: [...]}' },
    errors: [400, 404],
    handler: async (c, { params }) => ({
      hostnames: (await listHostnames(c.env.DB, c.var.principal, params.id)).map(hostnameView),
    }),
  })

  routes.add({
    method: 'get',
    path: '/hostnames/:hostname',
    summary: 'Read a hostname',
    access: SUBTREE,
    params: byHostname,
    response: hostnameSchema,
    success: { status: 200, description: 'The hostname' },
    errors: [400, 404],
    handler: async (c, { params }) => hostnameView(await getHostname(c.env.DB, c.var.principal, params.hostname)),
  })

  routes.add({
    method: 'patch',
    path: '/hostnames/:hostname',
    summary: 'Switch a hostname between the central and the direct callback (registering or removing its redirect URI)',
    access: SUBTREE,
    params: byHostname,
    body: updateHostnameSchema,
    response: hostnameSchema,
    success: { status: 200, description: 'The hostname' },
    errors: [400, 404, 409, ...UPSTREAM],
    handler: async (c, { params, body }) =>
      hostnameView(
        await updateHostname(
          c.env.DB,
          c.var.config,
          redirectUrisOf(c.env),
          c.var.principal,
          params.hostname,
          body,
          Date.now(),
        ),
      ),
  })

  routes.add({
    method: 'delete',
    path: '/hostnames/:hostname',
    summary: 'Detach a hostname',
    access: SUBTREE,
    params: byHostname,
    success: { status: 204, description: 'Detached' },
    errors: [400, 404, ...UPSTREAM],
    handler: async (c, { params }) => {
      await detachHostname(c.env.DB, c.var.config, redirectUrisOf(c.env), c.var.principal, params.hostname, Date.now())
    },
  })

  routes.add({
    method: 'post',
    path: '/hostnames/:hostname/check',
    summary: "Re-read the hostname status from Cloudflare now, and retry registering a direct host's redirect URI",
    access: SUBTREE,
    params: byHostname,
    response: hostnameSchema,
    success: { status: 200, description: 'The hostname' },
    errors: [400, 404, ...UPSTREAM],
    handler: async (c, { params }) =>
      hostnameView(
        await checkHostname(
          c.env.DB,
          c.var.config,
          redirectUrisOf(c.env),
          c.var.principal,
          params.hostname,
          Date.now(),
        ),
      ),
  })

  routes.add({
    method: 'post',
    path: '/hostnames/:hostname/diagnose',
    summary:
      "Diagnose a hostname now: its DNS (read through DNS over HTTPS), Cloudflare's view and its redirect URI, with the exact fix for each problem. Reads only: the stored status is not changed (…/check does that)",
    access: SUBTREE,
    params: byHostname,
    response: diagnosisSchema,
    success: {
      status: 200,
      description: '{ok, summary, dns, cloudflare, redirectUri, problems: [{code, message, fix}], ...}',
    },
    errors: [400, 404],
    handler: async (c, { params }) =>
      diagnoseHostname(c.env.DB, c.var.config, c.var.principal, params.hostname, Date.now()),
  })
}
