import type { Child } from 'hono/jsx'
import type { Branding } from '../tenancy/branding'
import { readableTextColor } from '../tenancy/colors'

const BASE_CSS = `
*,*::before,*::after{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1b1b;background:#f3f4f6;line-height:1.5}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;padding:1.5rem}
main{width:100%;max-width:26rem;background:#fff;border-radius:.75rem;border-top:.375rem solid var(--accent);box-shadow:0 1px 3px rgba(0,0,0,.12);padding:2rem}
h1{font-size:1.5rem;margin:0 0 .5rem}
p{margin:.5rem 0 1rem;color:#3b3b3b}
.brand{display:flex;align-items:center;gap:.75rem;margin-bottom:1.25rem}
.brand img{max-height:3rem;max-width:10rem;object-fit:contain}
.monogram{width:3rem;height:3rem;border-radius:.5rem;display:grid;place-items:center;font-weight:700;font-size:1.375rem;background:var(--accent);color:var(--on-accent)}
.brand-name{font-weight:600;font-size:1.125rem}
.button{display:flex;align-items:center;justify-content:center;gap:.75rem;width:100%;min-height:2.75rem;padding:.625rem 1rem;border-radius:.375rem;background:var(--accent);color:var(--on-accent);font-weight:600;font-size:1rem;text-decoration:none;border:1px solid rgba(0,0,0,.2)}
.button:hover{filter:brightness(1.08)}
button.button{font:inherit;font-weight:600;cursor:pointer}
.steps{padding-left:1.25rem;margin:.5rem 0 1rem}.steps li{margin:.25rem 0}
.choices{list-style:none;padding:0;margin:1rem 0;display:grid;gap:.75rem}
fieldset{border:0;padding:0;margin:0}
legend{font-weight:600;margin-bottom:.5rem}
.button:focus-visible,a:focus-visible{outline:3px solid #1b1b1b;outline-offset:3px;box-shadow:0 0 0 6px #fff}
.ms-logo{flex:none;background:#fff;padding:3px;border-radius:2px;line-height:0}
.hint{font-size:.875rem;color:#4b4b4b}
.reference{font-size:.8125rem;color:#4b4b4b;margin-top:1.5rem}
code{font-family:ui-monospace,Consolas,monospace;font-size:.875em}
@media (prefers-reduced-motion:no-preference){.button{transition:filter .15s}}
`

export interface LayoutProps {
  title: string
  nonce: string
  branding: Branding
  children?: Child
}

/** The page shell: one inline stylesheet allowed by a CSP nonce, nothing loaded from elsewhere. */
export function Layout({ title, nonce, branding, children }: LayoutProps) {
  const vars = `:root{--accent:${branding.accentColor};--on-accent:${readableTextColor(branding.accentColor)}}`
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{title}</title>
        <style nonce={nonce} dangerouslySetInnerHTML={{ __html: vars + BASE_CSS }} />
      </head>
      <body>
        <main>{children}</main>
      </body>
    </html>
  )
}

export function BrandHeader({ branding }: { branding: Branding }) {
  return (
    <div class="brand">
      {branding.logoUrl ? (
        <img src={branding.logoUrl} alt={`${branding.displayName} logo`} referrerpolicy="no-referrer" height="48" />
      ) : (
        <span class="monogram" aria-hidden="true">
          {(branding.displayName.trim()[0] ?? '?').toUpperCase()}
        </span>
      )}
      <span class="brand-name">{branding.displayName}</span>
    </div>
  )
}
