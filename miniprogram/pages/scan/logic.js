// Consumer scan page: how the page was entered (ordinary-link QR, mini-program code, the
// camera, a share card) → GET /scan?q= or /scan/<code> → the status panel first (status,
// product, workshop, production date, test verdict, registration), then alerts and details.
const api = require('../../utils/api')
const entry = require('../../utils/entry')
const fmt = require('../../utils/format')

const ACCEPTANCE = {accepted: '验收合格', rejected: '拒收'}

function hours(camera) {
  if (camera.live_from && camera.live_until) return `${camera.live_from}–${camera.live_until}`
  return ''
}

// The status panel: what the first screen answers, in words and a symbol as well as colour.
const STATUS = {
  released: {word: '已放行', symbol: '✓', tone: 'ok'},
  held: {word: '已暂控', symbol: '!', tone: 'caution'},
  recalled: {word: '已召回', symbol: '✕', tone: 'danger'},
  expired: {word: '已过期', symbol: '!', tone: 'caution'},
  unreleased: {word: '未放行', symbol: '?', tone: 'caution', hint: '该批次尚未放行销售。'},
}
const PANEL_VERDICTS = {
  pass: {word: '合格', symbol: '✓', tone: 'good'},
  fail: {word: '不合格', symbol: '✕', tone: 'bad'},
  pending: {word: '待检', symbol: '?', tone: 'warn'},
}
const REGISTRATION = {valid: '有效', expired: '已过期', suspended: '停产整改中', cancelled: '已注销'}

// "2026-11-26" (or a time) → "2026年11月26日", as the H5 page writes it.
function longDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso || ''))
  return m ? `${m[1]}年${Number(m[2])}月${Number(m[3])}日` : ''
}

function statusOf(view) {
  const state = (view.batch || {}).state
  if (state === 'recalled' || state === 'held') return state
  if (state !== 'released') return 'unreleased'
  return (view.alerts || []).some((a) => a.kind === 'expired') ? 'expired' : 'released'
}

function registrationOf(registration) {
  if (!registration) return null // nothing said when nothing is known
  const expired = registration.state === 'expired' && registration.valid_until
  let word = REGISTRATION[registration.state] || (registration.valid ? '有效' : '无效')
  if (expired) word = `已于 ${longDate(registration.valid_until)} 过期`
  return {
    valid: Boolean(registration.valid),
    symbol: registration.valid ? '✓' : '✕',
    tone: registration.valid ? 'good' : 'bad',
    word,
    until: registration.valid && registration.valid_until ? `至 ${longDate(registration.valid_until)}` : '',
    message: !registration.valid && registration.message ? registration.message : '',
  }
}

function panelOf(view) {
  const product = view.product || {}
  const workshop = view.workshop || {}
  const batch = view.batch || {}
  const status = statusOf(view)
  const shown = STATUS[status]
  const verdict = view.verdict || {result: 'pending', date: null}
  const v = PANEL_VERDICTS[verdict.result] || PANEL_VERDICTS.pending
  const registration = registrationOf(workshop.registration)
  const madeAfterExpiry = Boolean(batch.made_after_expiry)
  let tone = shown.tone
  if (status === 'recalled' || verdict.result === 'fail') tone = 'danger'
  else if (tone === 'ok' && ((registration && !registration.valid) || madeAfterExpiry)) tone = 'caution'
  return {
    status,
    tone,
    word: shown.word,
    symbol: shown.symbol,
    hint: shown.hint || '',
    product: product.name || '',
    workshop: [workshop.name, product.specification].filter(Boolean).join(' · '),
    producedOn: longDate(batch.produced_on) || '—',
    expiresOn: longDate(batch.expires_on),
    verdict: {word: v.word, symbol: v.symbol, tone: v.tone, date: longDate(verdict.date), result: verdict.result in PANEL_VERDICTS ? verdict.result : 'pending'},
    registration,
    madeAfterExpiry,
  }
}

function limitText(limit) {
  if (limit.comparison === 'max') return `≤ ${limit.value} ${limit.unit || ''}`.trim()
  if (limit.comparison === 'label_tolerance') return `标示值 ±${limit.value} ${limit.unit || ''}`.trim()
  return '不得检出'
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
    panel: panelOf(view),
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
      brand: (product.brand || {}).name_zh || '',
      category: category.name_zh || '',
      ingredients: product.ingredients || '—',
      shelfLife: product.shelf_life_days ? `${product.shelf_life_days} 天` : '无固定保质期',
      alcohol: product.labelled_alcohol ? `${product.labelled_alcohol} %vol` : '',
      storage: product.storage || '—',
      standard: product.standard_executed || '—',
      gtin: product.gtin || '',
    },
    workshop: {
      name: workshop.name || '',
      upgraded: workshop.upgraded ? '已升级为企业' + (workshop.trademark ? `（商标：${workshop.trademark}）` : '') : '',
      registrationNo: workshop.registration_no || '',
      licenceNo: workshop.licence_no || '',
      zone: (workshop.zone || {}).name_zh || '',
      address: workshop.address || '',
      operator: workshop.operator_name || '',
      phone: workshop.contact_phone || '',
    },
    batch: {
      batchNo: batch.batch_no || '',
      producedOn: longDate(batch.produced_on) || '—',
      expiresOn: longDate(batch.expires_on) || '无固定保质期',
      quantity: batch.quantity ? `${batch.quantity} ${batch.unit || ''}`.trim() : '',
      state: fmt.BATCH_STATES[batch.state] || batch.state || '',
      process: batch.process || '',
    },
    materials: (batch.raw_materials || []).map((m) => ({
      material: m.material,
      lotNo: m.lot_no,
      supplier: (m.supplier || {}).name || '',
      purchasedOn: longDate(m.purchased_on),
      acceptance: ACCEPTANCE[(m.acceptance || {}).result] || '',
    })),
    additives: (batch.additives || []).map((a) => ({
      name: a.name,
      purpose: a.purpose || '',
      amount: a.amount ? `${a.amount} ${a.unit || ''}`.trim() : '',
    })),
    tests: (view.tests || []).map((t) => {
      // A result judged against a limit nobody has checked yet is no public verdict.
      const judged = Boolean(t.limit && t.limit.verified)
      const v = fmt.verdict(t.verdict)
      const value = t.qualitative ? fmt.QUALITATIVE[t.qualitative] || t.qualitative : [t.value, t.unit].filter((x) => x !== null && x !== undefined && x !== '').join(' ')
      return {
        key: `${t.sample_no || ''}-${t.item_code || t.item}`,
        item: t.item,
        value,
        verdict: judged ? v.text : '',
        tone: judged ? v.tone : 'muted',
        limit: judged ? `${limitText(t.limit)}（${t.limit.standard}）` : '',
        meta: [fmt.SAMPLE_KINDS[t.kind], longDate(t.tested_at), t.agency].filter(Boolean).join(' · '),
      }
    }),
    inspection: inspection ? {date: longDate(inspection.date), outcome: outcome.text, tone: outcome.tone, summary: inspection.summary || ''} : null,
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

module.exports = {page, viewModel, longDate}
