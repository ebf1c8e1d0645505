import type { Branding } from '../tenancy/branding'
import { BrandHeader, Layout } from './layout'

export interface ChooserPageProps {
  nonce: string
  branding: Branding
  /** Shown so the user sees which account they are using. */
  account: string
  token: string
  phoneSystems: Array<{ id: string; name: string }>
}

/** The user is on several phone systems here: pick one. A POST with a one-time token bound to this browser's flow. */
export function ChooserPage({ nonce, branding, account, token, phoneSystems }: ChooserPageProps) {
  return (
    <Layout title={`Choose a phone system · ${branding.displayName}`} nonce={nonce} branding={branding}>
      <BrandHeader branding={branding} />
      <h1>Choose a phone system</h1>
      <p>
        <strong>{account}</strong> is set up on more than one phone system.
      </p>
      <form method="post" action="/sso/choose">
        <input type="hidden" name="token" value={token} />
        <fieldset>
          <legend>Open the web client of:</legend>
          <ul class="choices">
            {phoneSystems.map((ps) => (
              <li>
                <button class="button" type="submit" name="phoneSystem" value={ps.id}>
                  {ps.name}
                </button>
              </li>
            ))}
          </ul>
        </fieldset>
      </form>
    </Layout>
  )
}
