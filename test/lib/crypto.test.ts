import { base64url, EncryptJWT, jwtDecrypt } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { decryptSecret, encryptSecret, randomToken, seal, secretsEqual, sha256, unseal } from '../../src/lib/crypto'

const KEY = new Uint8Array(32).fill(7)
const OTHER_KEY = new Uint8Array(32).fill(8)

describe('seal / unseal', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('round-trips a payload for its audience, valid for exactly the lifetime given in seconds', async () => {
    const sealed = await seal({ fid: 'f1' }, KEY, 'flow-cookie:a.example', 600)
    const opened = await unseal<{ fid: string }>(sealed, KEY, 'flow-cookie:a.example')
    expect(opened?.fid).toBe('f1')
    expect(opened!.exp! - opened!.iat!).toBe(600)
  })

  it('opens nothing for another audience, another key, or after a tampered byte', async () => {
    const sealed = await seal({ fid: 'f1' }, KEY, 'flow-cookie:a.example', 600)
    expect(await unseal(sealed, KEY, 'flow-cookie:b.example')).toBeNull()
    expect(await unseal(sealed, OTHER_KEY, 'flow-cookie:a.example')).toBeNull()
    const parts = sealed.split('.')
    const ciphertext = parts[3]!
    parts[3] = (ciphertext[0] === 'A' ? 'B' : 'A') + ciphertext.slice(1)
    expect(await unseal(parts.join('.'), KEY, 'flow-cookie:a.example')).toBeNull()
  })

  it('opens nothing once its lifetime is over', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-12-01T10:00:00Z'))
    const sealed = await seal({ fid: 'f1' }, KEY, 'aud', 60)
    vi.setSystemTime(new Date('2026-12-01T10:00:59Z'))
    expect(await unseal(sealed, KEY, 'aud')).not.toBeNull()
    vi.setSystemTime(new Date('2026-12-01T10:01:01Z'))
    expect(await unseal(sealed, KEY, 'aud')).toBeNull()
  })
})

describe('seal is a standard compact JWE (dir, A256GCM)', () => {
  it('jose opens what seal writes, and unseal opens what jose writes', async () => {
    const sealed = await seal({ fid: 'f1' }, KEY, 'aud', 600)
    const { payload, protectedHeader } = await jwtDecrypt(sealed, KEY, { audience: 'aud' })
    expect(protectedHeader).toEqual({ alg: 'dir', enc: 'A256GCM' })
    expect(payload).toMatchObject({ fid: 'f1', aud: 'aud' })

    const byJose = await new EncryptJWT({ fid: 'f2' })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setAudience('aud')
      .setExpirationTime('600s')
      .encrypt(KEY)
    expect((await unseal<{ fid: string }>(byJose, KEY, 'aud'))?.fid).toBe('f2')
  })

  it('opens no other header, no token without exp or iat, and no key of another size', async () => {
    const encrypt = (header: { alg: string; enc: string; zip?: string }, claims: Record<string, unknown>) => {
      const jwt = new EncryptJWT(claims).setProtectedHeader(header).setAudience('aud')
      return jwt.encrypt(KEY)
    }
    const exp = Math.floor(Date.now() / 1000) + 600
    const iat = exp - 600
    // Another header (here with a key id) over the same key and claims: refused, as is anything but seal's own.
    const withKid = await new EncryptJWT({ exp, iat })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'k1' })
      .setAudience('aud')
      .encrypt(KEY)
    expect(await unseal(withKid, KEY, 'aud')).toBeNull()
    expect(await unseal(await encrypt({ alg: 'dir', enc: 'A256GCM' }, { iat }), KEY, 'aud')).toBeNull()
    expect(await unseal(await encrypt({ alg: 'dir', enc: 'A256GCM' }, { exp }), KEY, 'aud')).toBeNull()
    expect(
      await unseal(await encrypt({ alg: 'dir', enc: 'A256GCM' }, { exp: String(exp), iat }), KEY, 'aud'),
    ).toBeNull()
    expect(await unseal(await encrypt({ alg: 'dir', enc: 'A256GCM' }, { exp, iat, nbf: exp }), KEY, 'aud')).toBeNull()
    // An array audience that includes ours is not ours.
    const arrayAud = await new EncryptJWT({ exp, iat })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setAudience(['aud', 'other'])
      .encrypt(KEY)
    expect(await unseal(arrayAud, KEY, 'aud')).toBeNull()
    await expect(seal({}, new Uint8Array(16), 'aud', 60)).rejects.toThrow()
    const sealed = await seal({}, KEY, 'aud', 60)
    expect(await unseal(sealed, new Uint8Array(16).fill(7), 'aud')).toBeNull()
  })

  it('opens nothing truncated, with a key in the token, or with a short tag', async () => {
    const parts = (await seal({ fid: 'f1' }, KEY, 'aud', 600)).split('.')
    expect(await unseal(parts.slice(0, 4).join('.'), KEY, 'aud')).toBeNull()
    expect(await unseal([parts[0], base64url.encode(KEY), ...parts.slice(2)].join('.'), KEY, 'aud')).toBeNull()
    expect(await unseal([...parts.slice(0, 4), parts[4]!.slice(0, 10)].join('.'), KEY, 'aud')).toBeNull()
    expect(await unseal('not a token', KEY, 'aud')).toBeNull()
  })
})

describe('credentials at rest', () => {
  it('decrypts only under the key and the row it was encrypted for', async () => {
    const stored = await encryptSecret('client-secret', KEY, 'microsoft-integration:org_a:client')
    expect(stored).toMatch(/^v1\./)
    expect(stored).not.toContain('client-secret')
    expect(await decryptSecret(stored, KEY, 'microsoft-integration:org_a:client')).toBe('client-secret')
    await expect(decryptSecret(stored, KEY, 'microsoft-integration:org_b:client')).rejects.toThrow()
    await expect(decryptSecret(stored, OTHER_KEY, 'microsoft-integration:org_a:client')).rejects.toThrow()
  })
})

describe('tokens, hashes and comparisons', () => {
  it('randomToken is base64url with the entropy asked for', () => {
    expect(randomToken(32)).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(randomToken(16)).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(randomToken()).not.toBe(randomToken())
  })

  it('sha256 is the base64url SHA-256 of the text', async () => {
    expect(await sha256('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0')
  })

  it('secretsEqual compares whole secrets, in constant time through WebCrypto', async () => {
    const spy = vi.spyOn(crypto.subtle, 'timingSafeEqual')
    try {
      expect(await secretsEqual('same-secret', 'same-secret')).toBe(true)
      expect(await secretsEqual('same-secret', 'same-secreT')).toBe(false)
      expect(await secretsEqual('same-secret', 'same-secret-longer')).toBe(false)
      expect(spy).toHaveBeenCalledTimes(3)
    } finally {
      spy.mockRestore()
    }
  })
})
