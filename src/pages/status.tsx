import type { Branding } from '../hosts/resolve'
import { DEFAULT_ACCENT_COLOR } from '../hosts/resolve'
import { BrandHeader, Layout } from './layout'

/** Neutral look for pages that must not reveal which tenant, if any, a host belongs to. */
export const NEUTRAL_BRANDING: Branding = { displayName: 'Sign-in', logoUrl: null, accentColor: DEFAULT_ACCENT_COLOR }

export interface StatusPageProps {
  nonce: string
  title: string
  message: string
  /** What the reader can do about it. */
  action?: string
  correlationId?: string
  /** Omitted on neutral pages. */
  branding?: Branding
  /** A safe detail for the administrator (an AADSTS code). */
  detail?: string
  /** "Start again": the login page the sign-in began on. */
  retryHref?: string
}

export function StatusPage({
  nonce,
  title,
  message,
  action,
  correlationId,
  branding,
  detail,
  retryHref,
}: StatusPageProps) {
  return (
    <Layout title={title} nonce={nonce} branding={branding ?? NEUTRAL_BRANDING}>
      {branding ? <BrandHeader branding={branding} /> : null}
      <h1>{title}</h1>
      <p>{message}</p>
      {action ? <p>{action}</p> : null}
      {retryHref ? (
        <a class="button" href={retryHref} id="retry">
          Start again
        </a>
      ) : null}
      {detail ? <p class="reference">{detail}</p> : null}
      {correlationId ? (
        <p class="reference">
          Reference: <code>{correlationId}</code>
        </p>
      ) : null}
    </Layout>
  )
}
