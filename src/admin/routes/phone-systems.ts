import * as z from 'zod/mini'
import { connectLinkSchema, createConnectLink } from '../../connect/links'
import { redirectUrisOf } from '../../hostnames/redirect-uris'
import {
  createPhoneSystem,
  createPhoneSystemSchema,
  deletePhoneSystem,
  getPhoneSystem,
  listPhoneSystems,
  phoneSystemSchema,
  phoneSystemView,
  updatePhoneSystem,
  updatePhoneSystemSchema,
} from '../../phone-systems/service'
import {
  getSsoUsersPage,
  putSsoUsers,
  replaceCountsSchema,
  replaceSsoUsersSchema,
  ssoUserPageQuerySchema,
  ssoUserPageSchema,
} from '../../sso/list'
import { syncNow, syncResultSchema } from '../../sync/sync'
import { byId, SUBTREE } from '../params'
import type { AdminRoutes } from '../registry'

export function phoneSystemRoutes(routes: AdminRoutes): void {
  routes.add({
    method: 'post',
    path: '/orgs/:id/phone-systems',
    summary: 'Create a phone system',
    access: SUBTREE,
    params: byId,
    body: createPhoneSystemSchema,
    response: phoneSystemSchema,
    success: { status: 201, description: 'The phone system' },
    errors: [400, 404],
    handler: async (c, { params, body }) =>
      phoneSystemView(await createPhoneSystem(c.env.DB, c.var.principal, params.id, body, Date.now())),
  })

  routes.add({
    method: 'get',
    path: '/orgs/:id/phone-systems',
    summary: "List an organization's phone systems",
    access: SUBTREE,
    params: byId,
    response: z.object({ phoneSystems: z.array(phoneSystemSchema) }),
    success: { status: 200, description: '{phoneSystems: [...]}' },
    errors: [400, 404],
    handler: async (c, { params }) => ({
      phoneSystems: (await listPhoneSystems(c.env.DB, c.var.principal, params.id)).map(phoneSystemView),
    }),
  })

  routes.add({
    method: 'get',
    path: '/phone-systems/:id',
    summary: 'Read a phone system',
    access: SUBTREE,
    params: byId,
    response: phoneSystemSchema,
    success: { status: 200, description: 'The phone system' },
    errors: [400, 404],
    handler: async (c, { params }) => phoneSystemView(await getPhoneSystem(c.env.DB, c.var.principal, params.id)),
  })

  routes.add({
    method: 'patch',
    path: '/phone-systems/:id',
    summary:
      'Rename a phone system, change its URLs, or choose where Sync reads its list (app assignments, or one group)',
    access: SUBTREE,
    params: byId,
    body: updatePhoneSystemSchema,
    response: phoneSystemSchema,
    success: { status: 200, description: 'The phone system' },
    errors: [400, 404],
    handler: async (c, { params, body }) =>
      phoneSystemView(await updatePhoneSystem(c.env.DB, c.var.principal, params.id, body, Date.now())),
  })

  routes.add({
    method: 'post',
    path: '/phone-systems/:id/sync',
    summary:
      "Sync the SSO list from the phone system's Microsoft 365 tenant (Graph), atomically; a failed pull changes nothing",
    access: SUBTREE,
    params: byId,
    response: syncResultSchema,
    success: { status: 200, description: '{added, removed, updated, unchanged, total, graphRequests, ...}' },
    errors: [400, 404, 409, 422, 502, 503, 504],
    handler: async (c, { params }) => {
      const phoneSystem = await getPhoneSystem(c.env.DB, c.var.principal, params.id)
      return syncNow(c.env.DB, c.var.config, redirectUrisOf(c.env), c.var.principal, phoneSystem, Date.now())
    },
  })

  routes.add({
    method: 'post',
    path: '/phone-systems/:id/connect',
    summary:
      "Create a one-time link (7 days) for an administrator of the phone system's Microsoft 365 tenant to connect it; a newer link replaces the older ones",
    access: SUBTREE,
    params: byId,
    response: connectLinkSchema,
    success: { status: 201, description: '{connectUrl, expiresAt}' },
    errors: [400, 404],
    handler: async (c, { params }) => createConnectLink(c.env.DB, c.var.config, c.var.principal, params.id, Date.now()),
  })

  routes.add({
    method: 'delete',
    path: '/phone-systems/:id',
    summary: 'Delete a phone system and its SSO list',
    access: SUBTREE,
    params: byId,
    success: { status: 204, description: 'Deleted' },
    errors: [400, 404],
    handler: async (c, { params }) => {
      await deletePhoneSystem(c.env.DB, c.var.principal, params.id, Date.now())
    },
  })

  routes.add({
    method: 'put',
    path: '/phone-systems/:id/sso-users',
    summary: "Replace a phone system's SSO list, atomically",
    access: SUBTREE,
    params: byId,
    body: replaceSsoUsersSchema,
    bodyLimit: 'ssoList',
    response: replaceCountsSchema,
    success: { status: 200, description: '{added, removed, updated, unchanged, total}' },
    errors: [400, 404, 409, 413, 415],
    handler: async (c, { params, body }) => putSsoUsers(c.env.DB, c.var.principal, params.id, body.users, Date.now()),
  })

  routes.add({
    method: 'get',
    path: '/phone-systems/:id/sso-users',
    summary: "Page through a phone system's SSO list (the seed's eye icon)",
    access: SUBTREE,
    params: byId,
    query: ssoUserPageQuerySchema,
    response: ssoUserPageSchema,
    success: { status: 200, description: '{users, nextCursor}' },
    errors: [400, 404],
    handler: async (c, { params, query }) => getSsoUsersPage(c.env.DB, c.var.principal, params.id, query),
  })
}
