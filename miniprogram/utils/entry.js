// How the scan page is entered, and which code it is about.
//
// - An ordinary-link QR ("扫普通链接二维码打开小程序"): options.q is the URL-encoded printed
//   link https://<PUBLIC_HOST>/t/<code> (or the GS1 Digital Link form), with
//   options.scancode_time (seconds).
// - A mini-program code (wxacode): options.scene is the code itself (URL-encoded).
// - wx.scanCode inside the mini-program: res.result is the printed link (or the bare code).
// - A share card: options.code.
// Crockford base32 characters of a unit code (16 random + 1 check), as printed or typed.
const CODE = /^[0-9A-HJKMNP-TV-Z*~$=U]{17}$/
const CODE_CHARS = /[^0-9A-Za-z*~$=]/g

function decode(text) {
  let value = String(text || '')
  for (let i = 0; i < 2 && /%[0-9A-Fa-f]{2}/.test(value); i++) {
    try {
      value = decodeURIComponent(value)
    } catch (e) {
      break
    }
  }
  return value.trim()
}

function normaliseCode(text) {
  const code = String(text || '')
    .replace(CODE_CHARS, '')
    .toUpperCase()
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0')
  return CODE.test(code) ? code : ''
}

// Split a printed link; returns {host, code} or null for something that is not a link.
function parseLink(link) {
  const match = /^https?:\/\/([^/?#]+)(\/[^?#]*)?/i.exec(link)
  if (!match) return null
  const host = match[1].toLowerCase()
  const parts = (match[2] || '').split('/').filter(Boolean)
  let code = ''
  if (parts[0] === 't' && parts.length === 2) code = parts[1]
  const serial = parts.indexOf('21') // GS1 Digital Link: /01/<gtin>/10/<lot>/21/<code>
  if (parts[0] === '01' && serial > 0 && parts[serial + 1]) code = parts[serial + 1]
  return {host, code: normaliseCode(decode(code))}
}

// options of Page.onLoad (or a scanCode result) → {code, link, source, scannedAt, error}
function fromOptions(options) {
  const opts = options || {}
  if (opts.q) {
    const link = decode(opts.q)
    const parsed = parseLink(link)
    const scannedAt = Number(opts.scancode_time) ? new Date(Number(opts.scancode_time) * 1000) : null
    // The server decides whether the host is ours (GET /scan?q=); here only the shape.
    if (!parsed || !parsed.code) return {error: 'malformed_code', link, source: 'qr', scannedAt}
    return {code: parsed.code, link, source: 'qr', scannedAt}
  }
  if (opts.scene) {
    const code = normaliseCode(decode(opts.scene))
    return code ? {code, source: 'wxacode'} : {error: 'malformed_code', source: 'wxacode'}
  }
  if (opts.code) {
    const code = normaliseCode(decode(opts.code))
    return code ? {code, source: 'share'} : {error: 'malformed_code', source: 'share'}
  }
  return {error: 'nothing', source: 'none'}
}

// The text wx.scanCode read: a printed link or a bare code.
function fromScanResult(result) {
  const text = decode(result)
  if (/^https?:\/\//i.test(text)) return fromOptions({q: encodeURIComponent(text)})
  const code = normaliseCode(text)
  return code ? {code, source: 'camera'} : {error: 'malformed_code', source: 'camera'}
}

module.exports = {fromOptions, fromScanResult, normaliseCode, parseLink}
