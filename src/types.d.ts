declare module 'punycode/punycode.es6.js' {
  export function decode(input: string): string
  export function encode(input: string): string
}
