/**
 * The console's building blocks: labelled fields with their errors tied to
 * them (`aria-describedby`, `aria-invalid`), buttons that post a form with
 * the session's CSRF token, copy buttons, status badges, pagers. Pages are
 * made of these and hold no rule of their own.
 */
import type { Child } from 'hono/jsx'

/** The hidden field every console form carries (checked by `app.tsx` before any handler runs). */
export const CSRF_FIELD = '_csrf'

export function CsrfField({ token }: { token: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={token} />
}

/** A form's failure, as the page shows it: a message, and the field it belongs to when there is one. */
export interface FormProblem {
  message: string
  field?: string
}

/** The problem's message, if it belongs to `field`. */
export function errorFor(problem: FormProblem | undefined, field: string): string | undefined {
  return problem?.field === field ? problem.message : undefined
}

export interface FieldProps {
  /** The form field's name; the input's id is `f-{name}` unless `id` is given. */
  name: string
  label: string
  value?: string | null
  hint?: string
  error?: string
  type?: 'text' | 'url' | 'search' | 'number'
  required?: boolean
  autocomplete?: string
  id?: string
  placeholder?: string
}

export function Field({
  name,
  label,
  value,
  hint,
  error,
  type = 'text',
  required,
  autocomplete,
  id,
  placeholder,
}: FieldProps) {
  const inputId = id ?? `f-${name}`
  const describedBy = [hint ? `${inputId}-hint` : null, error ? `${inputId}-error` : null].filter(Boolean).join(' ')
  return (
    <div>
      <label for={inputId}>{label}</label>
      {hint ? (
        <p class="field-hint" id={`${inputId}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={`${inputId}-error`}>
          {error}
        </p>
      ) : null}
      <input
        type={type}
        id={inputId}
        name={name}
        value={value ?? ''}
        required={required}
        autocomplete={autocomplete ?? 'off'}
        placeholder={placeholder}
        aria-describedby={describedBy || undefined}
        aria-invalid={error ? 'true' : undefined}
      />
    </div>
  )
}

export interface SelectProps {
  name: string
  label: string
  options: Array<{ value: string; label: string }>
  value?: string
  hint?: string
  error?: string
  id?: string
}

export function Select({ name, label, options, value, hint, error, id }: SelectProps) {
  const selectId = id ?? `f-${name}`
  const describedBy = [hint ? `${selectId}-hint` : null, error ? `${selectId}-error` : null].filter(Boolean).join(' ')
  return (
    <div>
      <label for={selectId}>{label}</label>
      {hint ? (
        <p class="field-hint" id={`${selectId}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={`${selectId}-error`}>
          {error}
        </p>
      ) : null}
      <select
        id={selectId}
        name={name}
        aria-describedby={describedBy || undefined}
        aria-invalid={error ? 'true' : undefined}
      >
        {options.map((option) => (
          <option value={option.value} selected={option.value === value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  )
}

export type Tone = 'ok' | 'error' | 'warn' | 'info'

/** A message box; errors are announced (`role="alert"`), the rest politely (`role="status"`). */
export function Alert({ tone, title, children }: { tone: Tone; title?: string; children?: Child }) {
  return (
    <div class={`alert ${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {title ? <strong>{title} </strong> : null}
      {children}
    </div>
  )
}

/** A form's problem that belongs to no field, at the top of the form. */
export function FormAlert({ problem }: { problem?: FormProblem }) {
  return problem && !problem.field ? <Alert tone="error">{problem.message}</Alert> : null
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'error' | 'neutral'; children?: Child }) {
  return <span class={`badge ${tone}`}>{children}</span>
}

/**
 * A one-button form that posts to `action` with the CSRF token: every change
 * in the console is a POST. `confirm` asks first (script), and is the
 * button's description for assistive technology either way.
 */
export function PostButton({
  action,
  csrfToken,
  label,
  accessibleName,
  variant,
  confirm,
  fields,
}: {
  action: string
  csrfToken: string
  label: string
  /**
   * When the visible label alone is ambiguous in a list ("Revoke" → "Revoke key sgk_ab12"). It must start with the
   * visible label (WCAG 2.5.3, label in name: speech users say what they see; axe's label-content-name-mismatch).
   */
  accessibleName?: string
  variant?: 'secondary' | 'danger' | 'small'
  confirm?: string
  fields?: Record<string, string>
}) {
  return (
    <form method="post" action={action} data-confirm={confirm}>
      <CsrfField token={csrfToken} />
      {Object.entries(fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={variant} aria-label={accessibleName}>
        {label}
      </button>
    </form>
  )
}

/** A value to copy: shown as selectable text, with a copy button once the page's script runs. */
export function CopyValue({ value, label }: { value: string; label: string }) {
  return (
    <span class="copy-row">
      <code>{value}</code>
      <button type="button" class="secondary small" data-copy={value} aria-label={`Copy ${label}`} hidden>
        Copy
      </button>
    </span>
  )
}

/** Newer / older links over a cursor; keeps the page's other query parameters. */
export function Pager({
  base,
  query,
  nextCursor,
}: {
  base: string
  query: Record<string, string>
  nextCursor: string | null
}) {
  if (!nextCursor) return null
  const params = new URLSearchParams({ ...query, cursor: nextCursor })
  return (
    <nav class="pager" aria-label="Pages">
      <a href={`${base}?${params}`}>Next page</a>
    </nav>
  )
}

/** A date as people read it in a list: UTC, to the minute. */
export function When({ at }: { at: string | number | null | undefined }) {
  if (at === null || at === undefined) return <span class="muted">never</span>
  const date = new Date(at)
  const text = `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
  return <time datetime={date.toISOString()}>{text}</time>
}
