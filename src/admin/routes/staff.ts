import * as z from 'zod/mini'
import {
  addStaff,
  addStaffSchema,
  listStaff,
  removeStaff,
  staffSchema,
  staffView,
  updateStaffRole,
  updateStaffSchema,
} from '../../staff/service'
import { byId, SUBTREE } from '../params'
import type { AdminRoutes } from '../registry'

export function staffRoutes(routes: AdminRoutes): void {
  routes.add({
    method: 'post',
    path: '/orgs/:id/admins',
    summary:
      'Make an Entra user console staff of an organization (admin or viewer), by oid or by UPN (pinned to its oid at the first sign-in), within its tenant',
    access: SUBTREE,
    params: byId,
    body: addStaffSchema,
    response: staffSchema,
    success: { status: 201, description: 'The staff record' },
    errors: [400, 404, 409],
    handler: async (c, { params, body }) =>
      staffView(await addStaff(c.env.DB, c.var.principal, params.id, body, Date.now())),
  })

  routes.add({
    method: 'get',
    path: '/orgs/:id/admins',
    summary: "List an organization's console staff",
    access: SUBTREE,
    params: byId,
    response: z.object({ admins: z.array(staffSchema) }),
    success: { status: 200, description: '{admins: [...]}' },
    errors: [400, 404],
    handler: async (c, { params }) => ({
      admins: (await listStaff(c.env.DB, c.var.principal, params.id)).map(staffView),
    }),
  })

  routes.add({
    method: 'patch',
    path: '/admins/:id',
    summary: "Change a staff member's role",
    access: SUBTREE,
    params: byId,
    body: updateStaffSchema,
    response: staffSchema,
    success: { status: 200, description: 'The staff record' },
    errors: [400, 404],
    handler: async (c, { params, body }) =>
      staffView(await updateStaffRole(c.env.DB, c.var.principal, params.id, body.role, Date.now())),
  })

  routes.add({
    method: 'delete',
    path: '/admins/:id',
    summary: 'Remove a staff member (their console access ends at their next request)',
    access: SUBTREE,
    params: byId,
    success: { status: 204, description: 'Removed' },
    errors: [400, 404],
    handler: async (c, { params }) => {
      await removeStaff(c.env.DB, c.var.principal, params.id, Date.now())
    },
  })
}
