import type { Branding } from '../hosts/resolve'
import type { Identity } from '../oidc/entra'
import { BrandHeader, Layout } from './layout'

/** Shown after a verified sign-in until authorization and the handoff take over. */
export function SignedInPage({ nonce, branding, identity }: { nonce: string; branding: Branding; identity: Identity }) {
  return (
    <Layout title={`Signed in · ${branding.displayName}`} nonce={nonce} branding={branding}>
      <BrandHeader branding={branding} />
      <h1>Signed in</h1>
      <p id="signed-in-as">
        Signed in as <strong>{identity.name ?? identity.upn ?? identity.oid}</strong>
        {identity.upn ? ` (${identity.upn})` : ''}.
      </p>
    </Layout>
  )
}
