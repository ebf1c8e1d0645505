/**
 * Who writes a phone system's SSO list (ARCHITECTURE §12): Sync
 * (Graph: app assignments or one group), or Entra's provisioning pushing
 * SCIM. A SCIM-pushed list has one writer: Sync and the list PUT refuse it.
 */
import type { PhoneSystemRow } from '../db/schema'
import { AppError } from '../errors'

export function isScimPushed(phoneSystem: Pick<PhoneSystemRow, 'syncSource'>): boolean {
  return phoneSystem.syncSource === 'scim'
}

/** 409 for Sync and the list PUT on a phone system whose list SCIM pushes. */
export function listPushedByScim(): AppError {
  return new AppError(
    'list_pushed_by_scim',
    "This phone system's SSO list is pushed by Microsoft Entra provisioning (SCIM): change it in Entra. " +
      'To sync from Graph instead, set "syncSource" to "app_assignments" or "group" (PATCH /api/v1/phone-systems/{id}).',
  )
}
