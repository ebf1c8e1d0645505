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
}

export function StatusPage({ nonce, title, message, action, correlationId, branding }: StatusPageProps) {
  return (
    <Layout title={title} nonce={nonce} branding={branding ?? NEUTRAL_BRANDING}>
      {branding ? <BrandHeader branding={branding} /> : null}
      <h1>{title}</h1>
      <p>{message}</p>
      {action ? <p>{action}</p> : null}
      {correlationId ? (
        <p class="reference">
          Reference: <code>{correlationId}</code>
        </p>
      ) : null}
    </Layout>
  )
}
