// Consumer scan page: how the page was entered (ordinary-link QR, mini-program code, the
// camera, a share card) → GET /scan?q= or /scan/<code> → one screen, alerts first.
const api = require('../../utils/api')
const entry = require('../../utils/entry')
const fmt = require('../../utils/format')

const ACCEPTANCE = {accepted: '验收合格', rejected: '拒收'}

function hours(camera) {
  if (camera.live_from && camera.live_until) return `${camera.live_from}–${camera.live_until}`
  return ''
}

// The scan view JSON → what the page shows (every value already worded in Chinese).
function viewModel(view) {
  const product = view.product || {}
  const workshop = view.workshop || {}
  const batch = view.batch || {}
  const scan = view.scan || {}
  const category = product.category || {}
  const inspection = view.inspection
  const outcome = inspection ? fmt.OUTCOMES[inspection.outcome] || {text: inspection.outcome, tone: 'muted'} : null
  return {
    alerts: (view.alerts || []).map((a) => ({
      tone: a.level === 'danger' ? 'danger' : a.level === 'warning' ? 'warning' : 'info',
      message: a.message,
      reason: a.reason || '',
    })),
    repeat: Boolean(scan.repeat),
    notice: scan.repeat ? scan.notice || '' : '',
    scanLine: scan.number ? `这是第 ${scan.number} 次查询` + (scan.first_scanned_at ? `，首次查询于 ${fmt.shortTime(scan.first_scanned_at)}` : '') : '',
    code: (view.code || {}).code || '',
    product: {
      name: product.name || '',
      specification: product.specification || '',
      category: category.name_zh || '',
      shelfLife: product.shelf_life_days ? `${product.shelf_life_days} 天` : '',
    },
    workshop: {
      name: workshop.name || '',
      registrationNo: workshop.registration_no || '',
      address: workshop.address || '',
      operator: workshop.operator_name || '',
      phone: workshop.contact_phone || '',
    },
    batch: {
      batchNo: batch.batch_no || '',
      producedOn: batch.produced_on || '',
      expiresOn: batch.expires_on || '',
      state: fmt.BATCH_STATES[batch.state] || batch.state || '',
      process: batch.process || '',
    },
    materials: (batch.raw_materials || []).map((m) => ({
      material: m.material,
      lotNo: m.lot_no,
      supplier: (m.supplier || {}).name || '',
      acceptance: ACCEPTANCE[(m.acceptance || {}).result] || '',
    })),
    tests: (view.tests || []).map((t) => {
      const v = fmt.verdict(t.verdict)
      const value = t.qualitative ? fmt.QUALITATIVE[t.qualitative] || t.qualitative : [t.value, t.unit].filter((x) => x !== null && x !== undefined && x !== '').join(' ')
      return {
        item: t.item,
        value,
        verdict: v.text,
        tone: v.tone,
        kind: fmt.SAMPLE_KINDS[t.kind] || '',
        agency: t.agency || '',
        standard: (t.limit || {}).standard || '',
      }
    }),
    inspection: inspection ? {date: inspection.date, outcome: outcome.text, tone: outcome.tone, summary: inspection.summary || ''} : null,
    cameras: (view.cameras || []).map((c) => ({
      id: c.id,
      name: c.name,
      live: Boolean(c.live && c.playback_url),
      url: c.live ? c.playback_url || '' : '',
      snapshot: c.snapshot_url || '',
      hours: hours(c),
    })),
  }
}

function fetchView(found) {
  if (found.link) return api.call('scanLink', {}, {q: found.link})
  return api.call('scanCode', {code: found.code}, {})
}

const page = {
  data: {loading: false, error: '', view: null, code: ''},

  onLoad(options) {
    const found = entry.fromOptions(options)
    if (found.error === 'nothing') return // opened from the home page: offer the camera
    this.show(found)
  },

  // Open the camera (wx.scanCode) and show what was read.
  scanAgain() {
    wx.scanCode({
      onlyFromCamera: false,
      scanType: ['qrCode', 'barCode', 'datamatrix'],
      success: (res) => this.show(entry.fromScanResult(res.result)),
    })
  },

  show(found) {
    if (found.error) {
      this.setData({error: '没有读到有效的追溯码，请对准瓶身或包装上的二维码再扫一次。', view: null})
      return Promise.resolve()
    }
    this.setData({loading: true, error: '', code: found.code || ''})
    return fetchView(found).then(
      (view) => this.setData({loading: false, view: viewModel(view), code: (view.code || {}).code || found.code}),
      (err) => this.setData({loading: false, view: null, error: err.message}),
    )
  },

  complain() {
    wx.navigateTo({url: `/pages/complaint/index?code=${encodeURIComponent(this.data.code)}`})
  },

  call() {
    const phone = this.data.view && this.data.view.workshop.phone
    if (phone) wx.makePhoneCall({phoneNumber: phone})
  },

  onShareAppMessage() {
    const view = this.data.view
    const name = view ? view.product.name : ''
    return {
      title: name ? `${name}：一品一码追溯信息` : '一品一码：扫码查看食品来源',
      path: this.data.code ? `/pages/scan/index?code=${encodeURIComponent(this.data.code)}` : '/pages/home/index',
    }
  },
}

module.exports = {page, viewModel}
