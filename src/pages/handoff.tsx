import type { Branding } from '../tenancy/branding'
import { BrandHeader, Layout } from './layout'

export interface HandoffPageProps {
  nonce: string
  branding: Branding
  phoneSystemName: string
  handoffUrl: string
  assertion: string
}

/**
 * Delivers the assertion by an auto-submitting form POST (never in a URL, so
 * it reaches no log, history or Referer). The script is allowed by the CSP
 * nonce; without script, the button does the same.
 */
export function HandoffPage({ nonce, branding, phoneSystemName, handoffUrl, assertion }: HandoffPageProps) {
  return (
    <Layout title={`Opening ${phoneSystemName}`} nonce={nonce} branding={branding}>
      <BrandHeader branding={branding} />
      <h1>Opening {phoneSystemName}…</h1>
      <form method="post" action={handoffUrl} id="handoff">
        <input type="hidden" name="assertion" value={assertion} />
        <p>If your phone's web client does not open by itself, press the button.</p>
        <button class="button" type="submit" id="continue">
          Continue to {phoneSystemName}
        </button>
      </form>
      <script nonce={nonce} dangerouslySetInnerHTML={{ __html: "document.getElementById('handoff').submit()" }} />
    </Layout>
  )
}
