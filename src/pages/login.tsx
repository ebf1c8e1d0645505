import type { Branding } from '../tenancy/branding'
import { BrandHeader, Layout } from './layout'

function MicrosoftLogo() {
  return (
    <span class="ms-logo" aria-hidden="true">
      <svg
        xmlns="http://www.w3.org/2000/svg"
        aria-hidden="true"
        width="21"
        height="21"
        viewBox="0 0 21 21"
        focusable="false"
      >
        <rect x="1" y="1" width="9" height="9" fill="#f25022" />
        <rect x="11" y="1" width="9" height="9" fill="#7fba00" />
        <rect x="1" y="11" width="9" height="9" fill="#00a4ef" />
        <rect x="11" y="11" width="9" height="9" fill="#ffb900" />
      </svg>
    </span>
  )
}

export interface LoginPageProps {
  nonce: string
  branding: Branding
  /** The provider's tenant-agnostic login host. */
  primary: boolean
}

export function LoginPage({ nonce, branding, primary }: LoginPageProps) {
  return (
    <Layout title={`Sign in · ${branding.displayName}`} nonce={nonce} branding={branding}>
      <BrandHeader branding={branding} />
      <h1>Sign in to your phone system</h1>
      <p>
        {primary
          ? 'Use the Microsoft 365 work account your organization set up for single sign-on.'
          : `Use your ${branding.displayName} Microsoft 365 work account.`}
      </p>
      <a class="button" href="/sso/login" id="sign-in">
        <MicrosoftLogo />
        <span>Sign in with Microsoft</span>
      </a>
      <p class="hint">You will be sent to Microsoft to sign in, then straight to your phone's web client.</p>
    </Layout>
  )
}
