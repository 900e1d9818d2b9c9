// Inspectors on site: find the workshop (by name or registration number, GET /workshops?q=)
// or scan a product's code (the scan view names the batch), record a sample (POST
// /samples) and its rapid-test readings (POST /samples/<no>/results), and see the verdicts
// the server judged — a positive screen holds the batch at once.
const api = require('../../utils/api')
const store = require('../../utils/store')
const entry = require('../../utils/entry')
const fmt = require('../../utils/format')
const {refusal, valueOf} = require('../../utils/form')

const STATION_KEY = 'yipin.station' // the vehicle / lab, remembered between samples

// Common rapid-test items (codes of the standards table); the server judges every reading.
const ITEMS = [
  {code: 'benzoic_acid', name: '苯甲酸及其钠盐', qualitative: true, method: '胶体金法'},
  {code: 'sorbic_acid', name: '山梨酸及其钾盐', qualitative: true, method: '胶体金法'},
  {code: 'borax', name: '硼砂', qualitative: true, method: '试纸法'},
  {code: 'rongalite', name: '吊白块', qualitative: true, method: '试剂盒法'},
  {code: 'formaldehyde', name: '甲醛', qualitative: true, method: '试剂盒法'},
  {code: 'aflatoxin_b1', name: '黄曲霉毒素B1', qualitative: true, method: '胶体金法'},
  {code: 'aluminium', name: '铝的残留量', qualitative: false, method: '分光光度法', unit: 'mg/kg'},
  {code: 'alcohol', name: '酒精度', qualitative: false, method: '酒精计法', unit: '%vol'},
]

function newRow(item) {
  return {code: item.code, name: item.name, qualitative: item.qualitative, method: item.method, unit: item.unit || '', reading: item.qualitative ? 'negative' : '', device: ''}
}

// The rows → the body of POST /samples/<no>/results.
function resultsBody(rows) {
  return {
    results: rows.map((r) => {
      const out = {item_code: r.code, method: r.method}
      if (r.qualitative) out.qualitative = r.reading
      else {
        out.value = Number(r.reading)
        out.unit = r.unit
      }
      if (String(r.device || '').trim()) out.device_no = r.device.trim()
      return out
    }),
  }
}

// The recorded results → what the inspector reads: each item's verdict, the hold if any.
function outcome(answer) {
  const results = (answer.results || []).map((r) => {
    const v = fmt.verdict(r.verdict)
    const reading = r.qualitative ? fmt.QUALITATIVE[r.qualitative] || r.qualitative : [r.value, r.unit].filter(Boolean).join(' ')
    return {item: r.item, reading, verdict: v.text, tone: v.tone, limit: (r.limit || {}).text || ''}
  })
  return {
    sampleNo: (answer.sample || {}).sample_no || answer.sample_no || '',
    results,
    held: Boolean(answer.held),
    recall: Boolean(answer.recall_recommended),
    confirmation: answer.confirmation_sample_no || '',
  }
}

const page = {
  data: {step: 'find', q: '', found: [], error: '', errors: {}, busy: false,
    workshop: null, products: [], productIndex: -1, batchNo: '', place: '', agency: '', station: '', kind: 'rapid',
    sample: null, items: ITEMS, rows: [], outcome: null},

  onLoad() {
    const kept = store.get(STATION_KEY, null)
    if (kept) this.setData({agency: kept.agency || '', station: kept.station || ''})
  },

  onField(event) {
    const field = event.currentTarget.dataset.field
    this.setData({[field]: valueOf(event), errors: {...this.data.errors, [field]: ''}})
  },

  find() {
    const q = this.data.q.trim()
    if (!q) {
      this.setData({errors: {q: '请输入作坊名称或登记证号'}})
      return Promise.resolve()
    }
    this.setData({busy: true, error: '', errors: {}})
    return api.call('findWorkshops', {}, {q}).then(
      (page) => this.setData({busy: false, found: page.items, error: page.items.length ? '' : '没有找到，换个关键词试试'}),
      (err) => this.setData({busy: false, error: err.message}),
    )
  },

  choose(event) {
    const w = this.data.found[Number(event.currentTarget.dataset.index)]
    return this.startSample({id: w.id, name: w.name, registrationNo: w.registration_no}, '')
  },

  // Scan the product in hand: the scan view names its workshop and batch.
  scan() {
    return new Promise((resolve) => {
      wx.scanCode({
        scanType: ['qrCode', 'barCode', 'datamatrix'],
        success: (res) => resolve(this.fromCode(res.result)),
        fail: () => resolve(),
      })
    })
  },

  fromCode(result) {
    const found = entry.fromScanResult(result)
    if (found.error) {
      this.setData({error: '没有读到有效的追溯码'})
      return Promise.resolve()
    }
    const asked = found.link ? api.call('scanLink', {}, {q: found.link}) : api.call('scanCode', {code: found.code}, {})
    this.setData({busy: true, error: ''})
    return asked.then(
      (view) => {
        this.setData({busy: false})
        const w = view.workshop || {}
        return this.startSample({id: null, name: w.name, registrationNo: w.registration_no}, (view.batch || {}).batch_no || '')
      },
      (err) => this.setData({busy: false, error: err.message}),
    )
  },

  startSample(workshop, batchNo) {
    this.setData({step: 'sample', workshop, batchNo, place: `${workshop.name || ''}成品区`, products: [], productIndex: -1})
    if (!workshop.id) return Promise.resolve()
    return api.call('products', {workshop_id: workshop.id}, {}).then(
      (list) => this.setData({products: list.items.map((p) => ({id: p.id, label: `${p.name} ${p.specification || ''}`.trim()}))}),
      () => null,
    )
  },

  pickProduct(event) {
    this.setData({productIndex: Number(valueOf(event)), errors: {}})
  },

  createSample() {
    const d = this.data
    const product = d.products[d.productIndex]
    if (!d.batchNo.trim() && !product) {
      this.setData({errors: {batch_no: '请填写批号，或选择产品'}})
      return Promise.resolve()
    }
    const body = {
      kind: d.kind,
      task_source: 'routine',
      sampled_at: fmt.isoNow(),
      sampling_place: d.place.trim() || undefined,
      testing_agency: d.agency.trim() || undefined,
      station: d.station.trim() || undefined,
    }
    if (d.batchNo.trim()) body.batch_no = d.batchNo.trim()
    else body.product_id = product.id
    store.set(STATION_KEY, {agency: d.agency, station: d.station})
    this.sampleKey = this.sampleKey || api.newKey()
    this.setData({busy: true, error: '', errors: {}})
    return api.call('createSample', {}, body, {idempotencyKey: this.sampleKey}).then(
      (sample) => {
        this.sampleKey = null
        this.setData({busy: false, step: 'results', rows: [],
          sample: {sampleNo: sample.sample_no, batchNo: sample.batch_no || '', product: (sample.product || {}).name || '', kind: fmt.SAMPLE_KINDS[sample.kind] || sample.kind}})
      },
      (err) => {
        if (!err.network) this.sampleKey = null
        const r = refusal(err)
        this.setData({busy: false, error: r.message, errors: r.fields})
      },
    )
  },

  addItem(event) {
    const item = ITEMS[Number(event.currentTarget.dataset.index)]
    if (this.data.rows.some((r) => r.code === item.code)) return
    this.setData({rows: this.data.rows.concat([newRow(item)])})
  },

  onReading(event) {
    const {index, field} = event.currentTarget.dataset
    const rows = this.data.rows.slice()
    rows[Number(index)] = {...rows[Number(index)], [field]: valueOf(event), error: ''}
    this.setData({rows})
  },

  setPositive(event) {
    const index = Number(event.currentTarget.dataset.index)
    const rows = this.data.rows.slice()
    rows[index] = {...rows[index], reading: rows[index].reading === 'positive' ? 'negative' : 'positive'}
    this.setData({rows})
  },

  removeItem(event) {
    const index = Number(event.currentTarget.dataset.index)
    this.setData({rows: this.data.rows.filter((_, i) => i !== index)})
  },

  postResults() {
    const rows = this.data.rows
    if (!rows.length) {
      this.setData({error: '请先添加检测项目'})
      return Promise.resolve()
    }
    const bad = rows.findIndex((r) => !r.qualitative && !(String(r.reading).trim() !== '' && Number.isFinite(Number(r.reading))))
    if (bad >= 0) {
      const marked = rows.map((r, i) => (i === bad ? {...r, error: '请填写检测数值'} : r))
      this.setData({rows: marked})
      return Promise.resolve()
    }
    this.resultsKey = this.resultsKey || api.newKey()
    this.setData({busy: true, error: ''})
    return api.call('postResults', {sample_no: this.data.sample.sampleNo}, resultsBody(rows), {idempotencyKey: this.resultsKey}).then(
      (answer) => {
        this.resultsKey = null
        this.setData({busy: false, step: 'verdict', outcome: outcome(answer)})
      },
      (err) => {
        if (!err.network) this.resultsKey = null
        const r = refusal(err)
        const marked = rows.map((row, i) => ({...row, error: r.fields[`results.${i}.item_code`] || r.fields[`results.${i}.value`] || r.fields[`results.${i}.qualitative`] || ''}))
        this.setData({busy: false, error: r.message, rows: marked})
      },
    )
  },

  // Read a sample's verdicts again later (GET /samples/<no>).
  refresh() {
    return api.call('getSample', {sample_no: this.data.sample.sampleNo}, {}).then(
      (sample) => this.setData({outcome: {...this.data.outcome, ...outcome({results: sample.results, sample_no: sample.sample_no}), held: this.data.outcome.held}}),
      (err) => this.setData({error: err.message}),
    )
  },

  again() {
    this.setData({step: 'find', found: [], q: '', sample: null, rows: [], outcome: null, error: '', errors: {}, workshop: null, batchNo: ''})
  },
}

module.exports = {page, resultsBody, outcome, ITEMS}
