// One form for each ledger kind, a few large fields per screen, "copy from last time"
// (GET …/ledgers/<kind>/last), photos (wx.chooseMedia) and saving through the offline
// queue: sent at once when online, kept on the phone with its Idempotency-Key otherwise.
const api = require('../../utils/api')
const store = require('../../utils/store')
const queue = require('../../utils/queue')
const fmt = require('../../utils/format')
const {refusal, valueOf} = require('../../utils/form')

const TODAY_KEY = 'yipin.today'
const MAX_PHOTOS = 9

const text = (key, label, extra) => ({key, label, type: 'text', ...extra})
const number = (key, label, extra) => ({key, label, type: 'number', ...extra})
const date = (key, label, extra) => ({key, label, type: 'date', ...extra})
const check = (key, label, extra) => ({key, label, type: 'check', ...extra})
const NOTE = text('note', '备注（可不填）')

// Each kind: its API operation, its screens (a few fields each), whether it takes photos.
const KINDS = {
  morning_check: {name: '晨检', op: 'morningCheck', staff: true, screens: []},
  raw_acceptance: {
    name: '进货查验', op: 'rawAcceptance', photos: true, screens: [
      [text('material_name', '原料名称', {required: true}), number('quantity', '数量', {required: true}), text('unit', '单位', {required: true, initial: 'kg'})],
      [text('supplier.name', '供货商名称', {required: true}), text('supplier.licence_no', '供货商许可证号'), text('supplier_batch_no', '供货商批号')],
      [date('produced_on', '生产日期'), number('shelf_life_days', '保质期（天）'), text('specification', '规格')],
      [check('supplier_licence_checked', '已查看供货商许可证'), check('certificate_checked', '已查看合格证明'), check('sensory_ok', '外观气味正常', {initial: true})],
      [NOTE],
    ],
  },
  production: {
    name: '生产记录', op: 'production', photos: true, screens: [
      [text('batch_no', '批号'), text('process', '工艺（怎么做的）', {required: true})],
      [number('quantity', '数量', {required: true}), text('unit', '单位', {required: true})],
      [NOTE],
    ],
  },
  additive_use: {
    name: '添加剂使用', op: 'additiveUse', param: 'batch_no', screens: [
      [text('batch_no', '用在哪个批次（批号）', {required: true}), text('additive', '添加剂名称', {required: true})],
      [number('amount', '用量', {required: true}), text('unit', '单位（mg、g、kg）', {required: true, initial: 'g'}), text('purpose', '用途'),
        number('batch_mass_kg', '批次总质量（kg，规格算不出时填写）')],
    ],
  },
  cleaning: {
    name: '清洗消毒', op: 'cleaning', photos: true, screens: [
      [text('what', '清洗了什么', {required: true}), text('how', '怎么清洗的', {required: true}), text('disinfectant', '用的消毒剂')],
      [NOTE],
    ],
  },
  sale: {
    name: '销售记录', op: 'sale', screens: [
      [text('buyer.name', '卖给谁', {required: true}), text('buyer.contact_phone', '对方电话'), date('shipped_on', '发货日期')],
      [text('items.0.batch_no', '批号', {required: true}), number('items.0.quantity', '数量', {required: true})],
      [NOTE],
    ],
  },
}

// The morning check: one screen per person on duty (from today's checklist).
function staffScreens(staff) {
  return staff.map((person, i) => [
    number(`checks.${i}.temperature`, '体温（℃）', {required: true, title: person.name}),
    check(`checks.${i}.symptoms`, '有发热、腹泻、咳嗽等症状'),
    check(`checks.${i}.hand_wounds`, '手上有伤口'),
    check(`checks.${i}.fit_for_work`, '可以上岗', {initial: true}),
  ])
}

function staffOf(today) {
  return ((today && today.items) || [])
    .filter((item) => item.kind === 'morning_check' && item.subject_id)
    .map((item) => ({id: item.subject_id, name: item.subject}))
}

function initialValues(screens, staff) {
  const values = {}
  screens.forEach((fields) => fields.forEach((f) => {
    if (f.initial !== undefined) values[f.key] = f.initial
  }))
  ;(staff || []).forEach((person, i) => {
    values[`checks.${i}.staff_id`] = person.id
  })
  return values
}

// {"a.0.b": 1} → {a: [{b: 1}]}
function unflatten(flat) {
  const out = {}
  Object.keys(flat).forEach((key) => {
    const parts = key.split('.')
    let node = out
    parts.forEach((part, i) => {
      const last = i === parts.length - 1
      if (last) {
        node[part] = flat[key]
        return
      }
      if (node[part] === undefined) node[part] = /^\d+$/.test(parts[i + 1]) ? [] : {}
      node = node[part]
    })
  })
  return out
}

// {a: [{b: 1}]} → {"a.0.b": 1}
function flatten(value, prefix = '', out = {}) {
  if (value !== null && typeof value === 'object') {
    Object.keys(value).forEach((k) => flatten(value[k], prefix ? `${prefix}.${k}` : k, out))
  } else if (prefix) {
    out[prefix] = value
  }
  return out
}

// The form's values → the body the API wants (numbers as numbers, empty fields left out).
function buildBody(screens, values) {
  const types = {}
  screens.forEach((fields) => fields.forEach((f) => {
    types[f.key] = f.type
  }))
  const flat = {}
  Object.keys(values).forEach((key) => {
    const v = values[key]
    const type = types[key]
    if (type === 'check') flat[key] = Boolean(v)
    else if (v === undefined || v === null || String(v).trim() === '') return
    else if (type === 'number') flat[key] = Number(v)
    else flat[key] = typeof v === 'string' ? v.trim() : v
  })
  return unflatten(flat)
}

// Required fields left empty, and numbers that are not numbers, on one screen.
function checkScreen(fields, values) {
  const errors = {}
  fields.forEach((f) => {
    const v = values[f.key]
    const empty = v === undefined || v === null || String(v).trim() === ''
    if (f.required && empty && f.type !== 'check') errors[f.key] = '请填写这一项'
    else if (f.type === 'number' && !empty && !Number.isFinite(Number(v))) errors[f.key] = '请填写数字'
  })
  return errors
}

// "Copy from last time": the last entry's template → values (the morning check matched by person).
function copyValues(kind, template, staff) {
  if (kind !== 'morning_check') return flatten(template || {})
  const values = {}
  const checks = (template && template.checks) || []
  staff.forEach((person, i) => {
    const last = checks.find((c) => c.staff_id === person.id)
    if (!last) return
    ;['temperature', 'symptoms', 'hand_wounds', 'fit_for_work', 'note'].forEach((f) => {
      if (last[f] !== undefined && last[f] !== null) values[`checks.${i}.${f}`] = last[f]
    })
  })
  return values
}

// An additive use the server recorded but wants a regulator to review (an unverified limit):
// say so, with the server's words.
function reviewNote(result) {
  const check = result && result.answer && result.answer.check
  if (!check || check.status !== 'review') return ''
  return [check.message, ...(check.warnings || [])].filter(Boolean).join(' ')
}

const page = {
  data: {kind: '', name: '', step: 0, count: 0, title: '', fields: [], photos: [], takesPhotos: false,
    error: '', saved: '', busy: false, values: {}, errors: {}},

  onLoad(options) {
    const kind = (options && options.kind) || ''
    const spec = KINDS[kind]
    if (!spec) {
      this.setData({error: '没有这种台账'})
      return Promise.resolve()
    }
    this.spec = spec
    this.kindName = kind
    this.workshop = store.get(store.KEYS.workshop, null)
    wx.setNavigationBarTitle({title: spec.name})
    const staffReady = spec.staff ? this.loadStaff() : Promise.resolve([])
    return staffReady.then((staff) => {
      this.staff = staff
      this.screens = spec.staff ? staffScreens(staff) : spec.screens
      this.setData({kind, name: spec.name, takesPhotos: Boolean(spec.photos), values: initialValues(this.screens, staff)})
      if (spec.staff && !staff.length) this.setData({error: '今天没有需要晨检的人员，请先在监管所登记从业人员。'})
      this.render(0)
    })
  },

  // The people on duty: the last checklist kept on the phone, else asked for now.
  loadStaff() {
    const kept = staffOf(store.get(TODAY_KEY, null))
    if (kept.length) return Promise.resolve(kept)
    return api.call('today', {workshop_id: this.workshop.id}, {}).then((today) => {
      store.set(TODAY_KEY, today)
      return staffOf(today)
    }, () => [])
  },

  render(step, errors) {
    const errs = errors || this.data.errors
    const fields = (this.screens[step] || []).map((f) => ({
      key: f.key, label: f.label, type: f.type,
      value: this.data.values[f.key] === undefined ? (f.type === 'check' ? false : '') : this.data.values[f.key],
      error: errs[f.key] || '',
    }))
    const first = (this.screens[step] || [])[0]
    this.setData({
      step,
      count: this.screens.length,
      fields,
      errors: errs,
      title: first && first.title ? `${first.title}（第 ${step + 1} / ${this.screens.length} 人）` : `第 ${step + 1} / ${this.screens.length} 步`,
    })
  },

  onField(event) {
    const key = event.currentTarget.dataset.key
    const values = {...this.data.values, [key]: valueOf(event)}
    const errors = {...this.data.errors, [key]: ''}
    this.setData({values, errors})
    this.render(this.data.step, errors)
  },

  next() {
    const errors = checkScreen(this.screens[this.data.step], this.data.values)
    if (Object.keys(errors).length) {
      this.render(this.data.step, {...this.data.errors, ...errors})
      return false
    }
    if (this.data.step + 1 < this.screens.length) this.render(this.data.step + 1)
    return true
  },

  prev() {
    if (this.data.step > 0) this.render(this.data.step - 1)
  },

  copyLast() {
    this.setData({error: ''})
    return api.call('lastEntry', {workshop_id: this.workshop.id, kind: this.kindName}, {}).then(
      (last) => {
        const copied = copyValues(this.kindName, last.template, this.staff)
        this.setData({values: {...this.data.values, ...copied}})
        this.render(this.data.step)
        wx.showToast({title: `已复制${fmt.shortTime(last.occurred_at)}的记录`, icon: 'none'})
      },
      (err) => wx.showToast({title: err.message, icon: 'none'}),
    )
  },

  takePhoto() {
    const room = MAX_PHOTOS - this.data.photos.length
    if (room <= 0) return
    wx.chooseMedia({
      count: room,
      mediaType: ['image'],
      sourceType: ['camera', 'album'],
      sizeType: ['compressed'],
      success: (res) => this.setData({photos: this.data.photos.concat(res.tempFiles.map((f) => f.tempFilePath))}),
    })
  },

  removePhoto(event) {
    const index = Number(event.currentTarget.dataset.index)
    this.setData({photos: this.data.photos.filter((_, i) => i !== index)})
  },

  // Save: every screen checked, then sent through the queue (kept on the phone when offline).
  submit() {
    if (this.data.busy) return Promise.resolve()
    for (let i = 0; i < this.screens.length; i++) {
      const errors = checkScreen(this.screens[i], this.data.values)
      if (Object.keys(errors).length) {
        this.render(i, errors)
        return Promise.resolve()
      }
    }
    const body = {...buildBody(this.screens, this.data.values), occurred_at: fmt.isoNow()}
    const params = {workshop_id: this.workshop.id}
    if (this.spec.param) params[this.spec.param] = body[this.spec.param]
    this.setData({busy: true, error: ''})
    return Promise.resolve()
      .then(() => queue.submit(this.spec.op, params, body, {label: `${this.spec.name} ${fmt.shortTime(body.occurred_at)}`, files: this.data.photos}))
      .then(
        (result) => {
          const review = reviewNote(result)
          this.setData({busy: false, saved: result.sent ? `已保存并上传。${review}` : '现在没有网络，已存在手机上，联网后会自动发送。'})
          setTimeout(() => wx.navigateBack({delta: 1}), review ? 4000 : 1200)
        },
        (err) => {
          const r = refusal(err)
          const at = this.screens.findIndex((fields) => fields.some((f) => r.fields[f.key]))
          this.setData({busy: false, error: r.message})
          this.render(at >= 0 ? at : this.data.step, r.fields)
        },
      )
  },
}

module.exports = {page, KINDS, buildBody, unflatten, flatten, copyValues, staffScreens, checkScreen, reviewNote}
