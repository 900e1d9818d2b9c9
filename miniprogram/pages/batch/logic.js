// Opening a batch from accepted raw lots (POST /workshops/<id>/batches), issuing its codes
// (POST /batches/<no>/codes) and getting the label sheet (POST /issuances/<id>/labels, then
// GET /print-jobs/<id> until done, then the PDF through wx.downloadFile + wx.openDocument).
const api = require('../../utils/api')
const store = require('../../utils/store')
const fmt = require('../../utils/format')
const {refusal, valueOf} = require('../../utils/form')

const POLL_MS = 2000
const MAX_CODES = 100000

// Lots with something left → rows with an input each.
function lotRows(lots) {
  return (lots || []).map((lot) => ({
    id: lot.id,
    lotNo: lot.lot_no,
    material: lot.material_name,
    left: `${Number(lot.remaining)} ${lot.unit}`,
    supplier: (lot.supplier || {}).name || '',
    purchasedOn: lot.purchased_on,
  }))
}

// The form → the body of POST …/batches (only lots given a quantity are sent, in list order).
function openBody(form, lots) {
  const inputs = []
  lots.forEach((lot) => {
    const q = form.used[lot.id]
    if (q !== undefined && String(q).trim() !== '' && Number(q) > 0) inputs.push({raw_lot_id: lot.id, quantity: Number(q)})
  })
  const body = {occurred_at: fmt.isoNow(), product_id: form.productId, inputs, start: true}
  if (String(form.planned || '').trim()) body.planned_quantity = Number(form.planned)
  if (String(form.unit || '').trim()) body.unit = form.unit.trim()
  if (String(form.process || '').trim()) body.process = form.process.trim()
  return body
}

// Before sending: a product, at least one lot, numbers that are numbers.
function checkOpen(form, lots) {
  const errors = {}
  if (!form.productId) errors.product_id = '请选择产品'
  const given = lots.filter((lot) => String(form.used[lot.id] || '').trim() !== '')
  if (!given.length) errors.inputs = '请至少填写一种原料的用量'
  lots.forEach((lot, i) => {
    const q = form.used[lot.id]
    if (q !== undefined && String(q).trim() !== '' && !(Number(q) > 0)) errors[`inputs.${i}.quantity`] = '请填写大于 0 的数字'
  })
  if (String(form.planned || '').trim() && !(Number(form.planned) > 0)) errors.planned_quantity = '请填写大于 0 的数字'
  return errors
}

// Server errors name inputs by their place in what was SENT; show them on the lot's row.
function lotErrors(fields, body) {
  const out = {}
  Object.keys(fields).forEach((key) => {
    const m = /^inputs\.(\d+)\.quantity$/.exec(key)
    if (m && body.inputs[Number(m[1])]) out[body.inputs[Number(m[1])].raw_lot_id] = fields[key]
  })
  return out
}

const page = {
  data: {step: 'open', loading: false, error: '', errors: {}, lotErrors: {},
    products: [], productIndex: -1, lots: [], used: {}, planned: '', unit: '', process: '',
    batch: null, count: '', issuance: null, job: null, busy: false,
    made: '', certNo: '', checked: '感官,净含量'},

  onLoad() {
    this.workshop = store.get(store.KEYS.workshop, null)
    this.setData({loading: true})
    const id = {workshop_id: this.workshop.id}
    return Promise.all([api.call('products', id, {}), api.call('rawLots', id, {available: 1})]).then(
      ([products, lots]) => {
        this.lots = lots.items
        this.setData({loading: false, products: products.items.map((p) => ({id: p.id, label: `${p.name} ${p.specification || ''}`.trim()})), lots: lotRows(lots.items)})
      },
      (err) => this.setData({loading: false, error: err.message}),
    )
  },

  pickProduct(event) {
    this.setData({productIndex: Number(valueOf(event)), 'errors.product_id': ''})
  },

  onField(event) {
    this.setData({[event.currentTarget.dataset.field]: valueOf(event)})
  },

  onLot(event) {
    const id = event.currentTarget.dataset.id
    this.setData({used: {...this.data.used, [id]: valueOf(event)}, lotErrors: {...this.data.lotErrors, [id]: ''}, 'errors.inputs': ''})
  },

  open() {
    const d = this.data
    const product = d.products[d.productIndex]
    const form = {productId: product && product.id, used: d.used, planned: d.planned, unit: d.unit, process: d.process}
    const errors = checkOpen(form, this.lots)
    if (Object.keys(errors).length) {
      this.setData({errors})
      return Promise.resolve()
    }
    const body = openBody(form, this.lots)
    // One key per attempt at this batch: a retry after a lost answer does not open two.
    this.openKey = this.openKey || api.newKey()
    this.setData({busy: true, error: '', errors: {}, lotErrors: {}})
    return api.call('openBatch', {workshop_id: this.workshop.id}, body, {idempotencyKey: this.openKey}).then(
      (batch) => {
        this.openKey = null
        this.setData({busy: false, step: 'codes', batch: {batchNo: batch.batch_no, state: fmt.BATCH_STATES[batch.state] || batch.state, stateCode: batch.state, product: batch.product.name}})
      },
      (err) => {
        if (!err.network) this.openKey = null
        const r = refusal(err)
        this.setData({busy: false, error: r.message, errors: r.fields, lotErrors: lotErrors(r.fields, body)})
      },
    )
  },

  issue() {
    const count = Number(this.data.count)
    if (!Number.isInteger(count) || count < 1 || count > MAX_CODES) {
      this.setData({errors: {count: `请填写 1 到 ${MAX_CODES} 之间的整数`}})
      return Promise.resolve()
    }
    this.issueKey = this.issueKey || api.newKey()
    this.setData({busy: true, error: '', errors: {}})
    return api.call('issueCodes', {batch_no: this.data.batch.batchNo}, {count, kind: 'unit'}, {idempotencyKey: this.issueKey})
      .then((issuance) => {
        this.issueKey = null
        this.setData({issuance: {id: issuance.id, count: issuance.count, first: issuance.first_serial, last: issuance.last_serial}, step: 'labels'})
        return this.labels()
      })
      .catch((err) => {
        if (!err.network) this.issueKey = null
        const r = refusal(err)
        this.setData({busy: false, error: r.message, errors: r.fields})
      })
  },

  // Production finished (→ pending_release with the quantity made), then the owner's
  // release with the outgoing inspection (certificate number, items checked, pass).
  move(event) {
    const to = event.currentTarget.dataset.to
    const body = {to}
    const errors = {}
    if (to === 'pending_release') {
      if (!(Number(this.data.made) > 0)) errors.quantity = '请填写实际做了多少'
      else body.quantity = Number(this.data.made)
    } else {
      const items = String(this.data.checked || '').split(/[,，、\s]+/).filter(Boolean)
      if (!String(this.data.certNo).trim()) errors['inspection.inspection_cert_no'] = '请填写出厂检验单号'
      if (!items.length) errors['inspection.items'] = '请填写检验了哪些项目'
      body.inspection = {inspection_cert_no: String(this.data.certNo).trim(), items, result: 'pass'}
    }
    if (Object.keys(errors).length) {
      this.setData({errors})
      return Promise.resolve()
    }
    this.setData({busy: true, error: '', errors: {}})
    return api.call('moveBatch', {batch_no: this.data.batch.batchNo}, body).then(
      (batch) => this.setData({busy: false, batch: {...this.data.batch, state: fmt.BATCH_STATES[batch.state] || batch.state, stateCode: batch.state}}),
      (err) => {
        const r = refusal(err)
        this.setData({busy: false, error: r.message, errors: r.fields})
      },
    )
  },

  // Ask for the label sheet and follow the print job until it is done or failed.
  labels() {
    this.setData({busy: true, error: ''})
    return api.call('startLabels', {issuance_id: this.data.issuance.id}, {}).then((job) => this.follow(job))
      .catch((err) => this.setData({busy: false, error: err.message}))
  },

  follow(job) {
    this.setData({job: {id: job.id, status: job.status, percent: Math.round((job.progress || 0) * 100), url: job.download_url || '', error: job.error || ''}})
    if (job.status === 'done' || job.status === 'failed') {
      this.setData({busy: false, error: job.status === 'failed' ? `标签生成失败：${job.error || ''}` : ''})
      return Promise.resolve(job)
    }
    return new Promise((resolve) => setTimeout(resolve, POLL_MS))
      .then(() => api.call('printJob', {job_id: job.id}, {}))
      .then((next) => this.follow(next))
  },

  // The PDF, with the bearer token, then opened so it can be printed or sent to a computer.
  openSheet() {
    const url = this.data.job && this.data.job.url
    if (!url) return
    wx.downloadFile({
      url,
      header: {Authorization: `Bearer ${api.token()}`},
      success: (res) => {
        if (res.statusCode !== 200) {
          wx.showToast({title: '下载失败，请稍后再试', icon: 'none'})
          return
        }
        wx.openDocument({filePath: res.tempFilePath, fileType: 'pdf', showMenu: true})
      },
      fail: () => wx.showToast({title: '网络不通，请稍后再试', icon: 'none'}),
    })
  },
}

module.exports = {page, openBody, checkOpen, lotErrors, lotRows}
