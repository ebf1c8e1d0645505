import { describe, expect, it } from 'vitest'
import { isDirectSubdomain, normalizeRequestHost, parseHostnameInput } from '../../src/lib/hostname'

describe('normalizeRequestHost', () => {
  it.each([
    ['acme.localhost', 'acme.localhost'],
    ['ACME.Provider.Example', 'acme.provider.example'],
    ['acme.provider.example:8787', 'acme.provider.example'],
    ['acme.provider.example:443', 'acme.provider.example'],
    ['acme.provider.example.', 'acme.provider.example'],
    ['acme.provider.example.:8443', 'acme.provider.example'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['BÜCHER.example', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['münchen.de', 'xn--mnchen-3ya.de'],
    ['telefon.例え.jp', 'telefon.xn--r8jz45g.jp'],
    ['acme。provider。example', 'acme.provider.example'],
    ['ａｃｍｅ.example', 'acme.example'],
    ['localhost', 'localhost'],
    ['a-b.c-d.example', 'a-b.c-d.example'],
    [`${'a'.repeat(63)}.example`, `${'a'.repeat(63)}.example`],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeRequestHost(input)).toBe(expected)
  })

  it.each([
    ['empty', ''],
    ['only a port', ':443'],
    ['IPv4', '127.0.0.1'],
    ['IPv4 with port', '10.0.0.1:8080'],
    ['IPv4 in hex', '0x7f.0.0.1'],
    ['IPv4 as one number', '2130706433'],
    ['IPv6 literal', '[::1]'],
    ['IPv6 with port', '[::1]:443'],
    ['userinfo', 'evil.example@acme.example'],
    ['path', 'acme.example/evil'],
    ['backslash', 'acme.example\\evil.example'],
    ['query', 'acme.example?x'],
    ['fragment', 'acme.example#x'],
    ['space', 'acme .example'],
    ['tab', 'acme.example\t'],
    ['newline (header injection)', 'acme.example\r\nX-Evil: 1'],
    ['NUL byte', 'acme.example\u0000.evil'],
    ['percent-encoding', 'acme%2eexample'],
    ['wildcard', '*.example'],
    ['empty label', 'acme..example'],
    ['leading dot', '.acme.example'],
    ['two trailing dots', 'acme.example..'],
    ['leading hyphen', '-acme.example'],
    ['trailing hyphen', 'acme-.example'],
    ['underscore', 'ac_me.example'],
    ['label of 64 characters', `${'a'.repeat(64)}.example`],
    ['name of 254 characters', `${`${'a'.repeat(60)}.`.repeat(4)}abcdefghijklmn`],
    ['non-numeric port', 'acme.example:http'],
    ['port out of range', 'acme.example:65536'],
    ['two ports', 'acme.example:80:80'],
    ['bad punycode', 'xn--a.example'],
    ['numeric top label', 'acme.123'],
    ['quote', 'acme"example'],
    ['angle bracket', 'acme<script>.example'],
    ['10 KiB of labels', `${'a.'.repeat(5000)}example`],
  ])('refuses %s', (_name, input) => {
    expect(normalizeRequestHost(input)).toBeNull()
  })
})

describe('parseHostnameInput', () => {
  it.each([
    ['phones.acme.com', 'phones.acme.com'],
    ['  Phones.ACME.com  ', 'phones.acme.com'],
    ['phones.acme.com.', 'phones.acme.com'],
    ['téléphone.acme.fr', 'xn--tlphone-byab.acme.fr'],
  ])('%s -> %s', (input, expected) => {
    expect(parseHostnameInput(input)).toEqual({ ok: true, hostname: expected })
  })

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['https://phones.acme.com', 'scheme'],
    ['http://phones.acme.com/', 'scheme'],
    ['phones.acme.com/login', 'path'],
    ['phones.acme.com?x=1', 'path'],
    ['phones.acme.com:443', 'port'],
    ['user@phones.acme.com', 'userinfo'],
    ['*.acme.com', 'wildcard'],
    ['phones.*.com', 'wildcard'],
    ['192.168.1.10', 'ip_address'],
    ['0x7f000001', 'ip_address'],
    ['[2001:db8::1]', 'ip_address'],
    ['2001:db8::1', 'ip_address'],
    ['phones', 'single_label'],
    ['phones..acme.com', 'invalid_label'],
    ['-phones.acme.com', 'invalid_label'],
    ['pho_nes.acme.com', 'invalid_character'],
    ['phones acme.com', 'invalid_character'],
    [`${'a'.repeat(64)}.acme.com`, 'invalid_label'],
  ])('%j is refused as %s', (input, problem) => {
    expect(parseHostnameInput(input)).toEqual({ ok: false, problem })
  })
})

describe('isDirectSubdomain', () => {
  it.each([
    ['acme.provider.example', 'provider.example', true],
    ['provider.example', 'provider.example', false],
    ['a.b.provider.example', 'provider.example', false],
    ['evilprovider.example', 'provider.example', false],
    ['acme.provider.example.evil.com', 'provider.example', false],
  ])('%s under %s: %s', (hostname, zone, expected) => {
    expect(isDirectSubdomain(hostname, zone)).toBe(expected)
  })
})
