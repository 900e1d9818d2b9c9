// Scan entry: the q of an ordinary-link QR, a mini-program code's scene, wx.scanCode.
const entry = require('../utils/entry')

const CODE = 'TESTC0DE00000001X'

test('q is the URL-encoded printed link, with scancode_time', () => {
  const link = `https://yipin.example.cn/t/${CODE}`
  const got = entry.fromOptions({q: encodeURIComponent(link), scancode_time: '1764118800'})
  expect(got).toMatchObject({code: CODE, link, source: 'qr'})
  expect(got.scannedAt.toISOString()).toBe('2025-11-26T01:00:00.000Z')
})

test('q encoded twice, and the GS1 Digital Link form, give the same code', () => {
  const link = `https://yipin.example.cn/01/06941234567010/10/SDT-20261123-02/21/${CODE}`
  expect(entry.fromOptions({q: encodeURIComponent(encodeURIComponent(link))}).code).toBe(CODE)
})

test('codes are read as printed: lower case, groups, look-alikes', () => {
  const link = 'https://yipin.example.cn/t/testc0de-0000-0001x'
  expect(entry.fromOptions({q: encodeURIComponent(link)}).code).toBe(CODE)
  expect(entry.normaliseCode('TESTCODE 0000 0001 X')).toBe(CODE) // O read as 0
  expect(entry.normaliseCode('TESTC0DE0000000IX'.replace('I', 'I'))).toBe('TESTC0DE00000001X')
})

test('links that are not a code page are refused before any request', () => {
  for (const link of ['https://yipin.example.cn/', 'https://yipin.example.cn/t/SHORT', 'not a link', 'https://yipin.example.cn/t/a/b']) {
    expect(entry.fromOptions({q: encodeURIComponent(link)}).error).toBe('malformed_code')
  }
})

test('a link of another host is passed to the server, which decides', () => {
  const got = entry.fromOptions({q: encodeURIComponent(`https://evil.example.com/t/${CODE}`)})
  expect(got.link).toBe(`https://evil.example.com/t/${CODE}`)
})

test('scene of a mini-program code is the code itself', () => {
  expect(entry.fromOptions({scene: encodeURIComponent(CODE)})).toEqual({code: CODE, source: 'wxacode'})
  expect(entry.fromOptions({scene: 'x'}).error).toBe('malformed_code')
})

test('wx.scanCode gives the printed link or a bare code', () => {
  expect(entry.fromScanResult(`https://yipin.example.cn/t/${CODE}`)).toMatchObject({code: CODE, source: 'qr'})
  expect(entry.fromScanResult(CODE)).toEqual({code: CODE, source: 'camera'})
  expect(entry.fromScanResult('6941234567010').error).toBe('malformed_code')
})

test('nothing to scan', () => {
  expect(entry.fromOptions({})).toEqual({error: 'nothing', source: 'none'})
  expect(entry.fromOptions(undefined).error).toBe('nothing')
})
