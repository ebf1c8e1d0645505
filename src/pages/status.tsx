import { type Branding, NEUTRAL_BRANDING } from '../tenancy/branding'
import { BrandHeader, Layout } from './layout'

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
