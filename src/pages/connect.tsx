import type { Branding } from '../tenancy/branding'
import { BrandHeader, Layout } from './layout'

export interface ConnectPageProps {
  nonce: string
  branding: Branding
  /** The provider whose sign-in service this is (the page is the partner's look, the request goes through it). */
  providerName: string
  portalName: string
  phoneSystemName: string
  tenantId: string
  /** The Graph permissions consented to, each with what it is for. */
  permissions: ReadonlyArray<{ name: string; use: string }>
  expiresAt: string
}

/** What an administrator sees when opening a connect link: who asks, what will happen, which permissions. */
export function ConnectPage(props: ConnectPageProps) {
  const { nonce, branding, providerName, portalName, phoneSystemName, tenantId, permissions, expiresAt } = props
  return (
    <Layout title={`Connect Microsoft 365 · ${branding.displayName}`} nonce={nonce} branding={branding}>
      <BrandHeader branding={branding} />
      <h1>Connect Microsoft 365</h1>
      <p>
        <strong>{portalName}</strong> asks an administrator of your Microsoft 365 organization to connect it to the
        phone system <strong>{phoneSystemName}</strong>, so your users can sign in to it with single sign-on.
      </p>
      <p>What happens:</p>
      <ol class="steps">
        <li>You sign in with Microsoft, with an administrator account of the organization (tenant {tenantId}).</li>
        <li>
          Microsoft asks you to grant the phone system's sign-in app these application permissions, which it uses to
          keep the list of who may sign in current:
          <ul>
            {permissions.map((p) => (
              <li>
                <code>{p.name}</code>: {p.use}
              </li>
            ))}
          </ul>
        </li>
        <li>The phone system is connected. Nothing else changes in your organization.</li>
      </ol>
      <form method="post">
        <button class="button" type="submit" id="connect">
          Connect Microsoft 365
        </button>
      </form>
      <p class="hint">
        This request comes from {portalName} through {providerName}'s sign-in service for phone systems. Continue only
        if you expected it from them.
      </p>
      <p class="hint">
        Only an administrator can do this (Global, Privileged Role, Application or Cloud Application Administrator). If
        that is not you, forward this link to your Microsoft 365 administrator. It works once, until {expiresAt}.
      </p>
    </Layout>
  )
}

export interface ConnectedPageProps {
  nonce: string
  branding: Branding
  phoneSystemName: string
  administrator: string
}

export function ConnectedPage({ nonce, branding, phoneSystemName, administrator }: ConnectedPageProps) {
  return (
    <Layout title={`Connected · ${branding.displayName}`} nonce={nonce} branding={branding}>
      <BrandHeader branding={branding} />
      <h1>Connected</h1>
      <p>
        Microsoft 365 is now connected to <strong>{phoneSystemName}</strong>, by {administrator}.
      </p>
      <p>
        Your users can sign in with single sign-on once they are on its list: add them to the phone system's Microsoft
        365 integration (assign them to its app), then press Sync in the portal. You can close this page.
      </p>
    </Layout>
  )
}
