/**
 * The console's page shell (ARCHITECTURE §7): header with the signed-in user
 * and sign-out, breadcrumbs, the organization's tabs, one `main` landmark.
 * One inline stylesheet and one small script, both under the CSP nonce; the
 * script only adds copy buttons and confirmations, every form works without it.
 */
import type { Child } from 'hono/jsx'
import { CsrfField } from './ui'

const CONSOLE_CSS = `
*,*::before,*::after{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1b1b;background:#f3f4f6;line-height:1.5}
body{margin:0}
a{color:#0b57d0}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem;z-index:10}
.skip:focus{left:.5rem;top:.5rem}
header.top{background:#1f2937;color:#fff;display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem 1rem;padding:.75rem 1.25rem}
header.top a{color:#fff}
.product{font-weight:700;font-size:1.0625rem;text-decoration:none}
.who{display:flex;flex-wrap:wrap;align-items:center;gap:.75rem;font-size:.9375rem}
.who form{margin:0}
.who button{background:transparent;color:#fff;border:1px solid #9ca3af;border-radius:.375rem;padding:.25rem .75rem;font:inherit;cursor:pointer}
nav.crumbs{padding:.75rem 1.25rem 0;font-size:.9375rem}
nav.crumbs ol{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem}
nav.crumbs li+li::before{content:"/";margin-right:.25rem;color:#6b7280}
nav.tabs{padding:0 1.25rem;border-bottom:1px solid #d1d5db;background:#fff}
nav.tabs ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:0 1rem}
nav.tabs a{display:inline-block;padding:.625rem .125rem;text-decoration:none;color:#374151;border-bottom:3px solid transparent}
nav.tabs a[aria-current=page]{color:#0b57d0;border-bottom-color:#0b57d0;font-weight:600}
main{max-width:72rem;margin:0 auto;padding:1.25rem}
h1{font-size:1.5rem;margin:.25rem 0 1rem}
h2{font-size:1.1875rem;margin:1.5rem 0 .75rem}
section.card{background:#fff;border:1px solid #e5e7eb;border-radius:.5rem;padding:1rem 1.25rem;margin:0 0 1.25rem}
section.card>:first-child{margin-top:0}
table{width:100%;border-collapse:collapse;background:#fff;font-size:.9375rem}
caption{text-align:left;font-weight:600;padding:.5rem 0}
th,td{text-align:left;padding:.5rem .625rem;border-bottom:1px solid #e5e7eb;vertical-align:top;overflow-wrap:break-word}
th{background:#f9fafb;font-weight:600}
.table-wrap{overflow-x:auto;margin:0 0 1.25rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
.field-hint{font-size:.875rem;color:#4b5563;margin:.125rem 0 .25rem}
input[type=text],input[type=url],input[type=search],input[type=number],select{width:100%;max-width:32rem;padding:.5rem .625rem;border:1px solid #6b7280;border-radius:.375rem;font:inherit;background:#fff;color:#1b1b1b}
input[aria-invalid=true]{border-color:#b91c1c;border-width:2px}
.field-error{color:#b91c1c;font-weight:600;margin:.25rem 0}
button,.btn{display:inline-flex;align-items:center;gap:.375rem;min-height:2.5rem;padding:.5rem 1rem;border-radius:.375rem;border:1px solid #0b57d0;background:#0b57d0;color:#fff;font:inherit;font-weight:600;cursor:pointer;text-decoration:none}
button.secondary,.btn.secondary{background:#fff;color:#0b57d0}
button.danger{background:#b91c1c;border-color:#b91c1c;color:#fff}
button.small{min-height:2rem;padding:.25rem .625rem;font-size:.875rem}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.75rem 0}
.actions form{margin:0}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,.btn:focus-visible{outline:3px solid #111827;outline-offset:2px;box-shadow:0 0 0 5px #fde68a}
.alert{border-radius:.5rem;padding:.75rem 1rem;margin:0 0 1rem;border:1px solid}
.alert.ok{background:#ecfdf5;border-color:#047857;color:#064e3b}
.alert.error{background:#fef2f2;border-color:#b91c1c;color:#7f1d1d}
.alert.warn{background:#fffbeb;border-color:#b45309;color:#78350f}
.alert.info{background:#eff6ff;border-color:#1d4ed8;color:#1e3a8a}
.badge{display:inline-block;padding:.0625rem .5rem;border-radius:999px;font-size:.8125rem;font-weight:600;border:1px solid}
.badge.ok{background:#ecfdf5;color:#065f46;border-color:#047857}
.badge.warn{background:#fffbeb;color:#78350f;border-color:#b45309}
.badge.error{background:#fef2f2;color:#7f1d1d;border-color:#b91c1c}
.badge.neutral{background:#f3f4f6;color:#374151;border-color:#6b7280}
code,.mono{font-family:ui-monospace,Consolas,monospace;font-size:.875em;overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dl.facts dt{font-weight:600;color:#374151}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.muted{color:#4b5563}
.copy-row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.pager{display:flex;gap:1rem;margin:1rem 0}
.search{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin:0 0 1rem}
.search label{margin:0 0 .25rem}
.search div{flex:0 1 32rem}
@media (max-width:40rem){main{padding:.75rem}th,td{padding:.375rem;overflow-wrap:anywhere}dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.5rem}}
`

/**
 * Copy buttons (hidden until this script runs: without it the value is still
 * shown, selectable) and confirmations on forms marked `data-confirm`.
 */
const CONSOLE_SCRIPT = `
for(const b of document.querySelectorAll('button[data-copy]')){b.hidden=false;b.addEventListener('click',async()=>{try{await navigator.clipboard.writeText(b.dataset.copy);const t=b.textContent;b.textContent='Copied';setTimeout(()=>{b.textContent=t},1500)}catch{b.textContent='Select and copy'}})}
for(const f of document.querySelectorAll('form[data-confirm]')){f.addEventListener('submit',e=>{if(!confirm(f.dataset.confirm))e.preventDefault()})}
`

export interface Crumb {
  label: string
  href?: string
}

export interface Tab {
  label: string
  href: string
  current: boolean
}

export interface ConsoleChrome {
  /** Whose session it is; absent on the sign-in page. */
  user?: { label: string; csrfToken: string }
  providerName: string
}

export interface ConsoleLayoutProps extends ConsoleChrome {
  title: string
  nonce: string
  crumbs?: Crumb[]
  tabs?: Tab[]
  children?: Child
}

export function ConsoleLayout({ title, nonce, crumbs, tabs, user, providerName, children }: ConsoleLayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${title} · ${providerName} console`}</title>
        <style nonce={nonce} dangerouslySetInnerHTML={{ __html: CONSOLE_CSS }} />
      </head>
      <body>
        <a class="skip" href="#content">
          Skip to content
        </a>
        <header class="top">
          <a class="product" href="/admin">
            {providerName} console
          </a>
          {user ? (
            <div class="who">
              <span>
                Signed in as <strong>{user.label}</strong>
              </span>
              <form method="post" action="/admin/logout">
                <CsrfField token={user.csrfToken} />
                <button type="submit">Sign out</button>
              </form>
            </div>
          ) : null}
        </header>
        {crumbs && crumbs.length > 0 ? (
          <nav class="crumbs" aria-label="Breadcrumb">
            <ol>
              {crumbs.map((crumb, i) => (
                <li>
                  {crumb.href && i < crumbs.length - 1 ? (
                    <a href={crumb.href}>{crumb.label}</a>
                  ) : (
                    <span>{crumb.label}</span>
                  )}
                </li>
              ))}
            </ol>
          </nav>
        ) : null}
        {tabs && tabs.length > 0 ? (
          <nav class="tabs" aria-label="Organization">
            <ul>
              {tabs.map((tab) => (
                <li>
                  <a href={tab.href} aria-current={tab.current ? 'page' : undefined}>
                    {tab.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        <main id="content" tabindex={-1}>
          <h1>{title}</h1>
          {children}
        </main>
        <script nonce={nonce} dangerouslySetInnerHTML={{ __html: CONSOLE_SCRIPT }} />
      </body>
    </html>
  )
}
