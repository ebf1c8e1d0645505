/**
 * An SSO user (ARCHITECTURE §2): who may sign in to a phone system. One shape for
 * the domain (`SsoUser`), the editable part of it (`SsoUserFields`: what a
 * list entry or a Graph pull provides), and the row as D1 returns it.
 */

/** What a list entry says about a person; the rest of a record is the gateway's. */
export interface SsoUserFields {
  oid: string | null
  upn: string | null
  email: string | null
  displayName: string | null
  extension: string | null
}

export interface SsoUser extends SsoUserFields {
  /** `usr_…`: the `sub` of handoff assertions, kept while the record stays the same person. */
  id: string
  phoneSystemId: string
  /** The phone system's Entra tenant. */
  tid: string
  createdAt: number
  updatedAt: number
}

/** A `sso_users` row as raw SQL returns it (snake_case columns). */
export interface SsoUserRow {
  id: string
  phone_system_id: string
  tid: string
  oid: string | null
  upn: string | null
  email: string | null
  display_name: string | null
  extension: string | null
  created_at: number
  updated_at: number
}

/** Every column of `SsoUserRow`, for raw SELECTs (prefixed by a table alias where given). */
export function ssoUserColumns(alias?: string): string {
  const p = alias ? `${alias}.` : ''
  return [
    'id',
    'phone_system_id',
    'tid',
    'oid',
    'upn',
    'email',
    'display_name',
    'extension',
    'created_at',
    'updated_at',
  ]
    .map((column) => `${p}${column}`)
    .join(', ')
}

export function fromRow(row: SsoUserRow): SsoUser {
  return {
    id: row.id,
    phoneSystemId: row.phone_system_id,
    tid: row.tid,
    oid: row.oid,
    upn: row.upn,
    email: row.email,
    displayName: row.display_name,
    extension: row.extension,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
