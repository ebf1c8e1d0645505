/**
 * What a host serves (ARCHITECTURE §3.1): the provider's primary host, or a login
 * host of one portal with its look and callback mode. Resolved by `hosts/`.
 */
import type { CallbackMode, HostnameStatus, OrgKind, OrgStructure } from '../db/schema'
import type { Branding } from './branding'

export interface TenantSite {
  kind: 'tenant'
  hostname: string
  status: HostnameStatus
  callbackMode: CallbackMode
  redirectUriRegistered: boolean
  org: { id: string; kind: OrgKind; structure: OrgStructure | null; name: string }
  branding: Branding
}

export interface PrimarySite {
  kind: 'primary'
  hostname: string
  branding: Branding
}

export type Site = PrimarySite | TenantSite
