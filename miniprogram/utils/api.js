// The one API client of the mini-program: base URL, bearer token, Idempotency-Key, and the
// error shape of /api/v1 ({code, status, error, message, errors}).
//
// Every operation is declared in OPERATIONS with the fields it SENDS (the request body or
// query) and the fields it READS from the answer. Bodies are cut down to the declared
// fields before they leave, and answers are cut down to the declared fields before a page
// sees them, so a page cannot use a field the client has not declared — and
// test/contract.test.js checks every declared field against /api/v1/openapi.json.
const config = require('../config')
const store = require('./store')

// Paths: "a.b" an object's field, "a[].b" a field of each element of a list.
const PROFILE = [
  'id', 'role', 'display_name', 'phone_bound',
  'workshops[].id', 'workshops[].name', 'workshops[].registration_no', 'workshops[].role',
]
const SCAN_VIEW = [
  'alerts[].level', 'alerts[].kind', 'alerts[].message', 'alerts[].reason',
  'code.code', 'code.kind', 'code.serial', 'code.url',
  'scan.number', 'scan.first_scanned_at', 'scan.repeat', 'scan.notice',
  'product', 'workshop', 'batch', 'tests', 'verdict.result', 'verdict.date', 'inspection', 'cameras',
]
const ENTRY = ['id', 'kind', 'kind_name', 'business_date', 'occurred_at', 'batch_no', 'lot_no', 'payload']
const LEDGER_COMMON = ['occurred_at', 'recorded_at', 'photos', 'note']
const QUALITY_RESULT = [
  'id', 'item_code', 'item', 'method', 'value', 'unit', 'qualitative', 'verdict', 'limit',
]
const SAMPLE = [
  'sample_no', 'kind', 'task_source', 'status', 'batch_no', 'sampled_at', 'testing_agency',
  'station', 'workshop', 'product',
  ...QUALITY_RESULT.map((f) => `results[].${f}`),
]

const OPERATIONS = {
  login: {method: 'POST', path: '/auth/wechat/login', auth: false, sends: ['code'],
    reads: ['token', 'expires_at', ...PROFILE.map((f) => `user.${f}`)]},
  me: {method: 'GET', path: '/me', reads: PROFILE},
  redeemInvite: {method: 'POST', path: '/invites/redeem', sends: ['code'], idempotent: true,
    reads: ['workshop.id', 'workshop.name', 'workshop.registration_no', 'workshop.role']},
  today: {method: 'GET', path: '/workshops/{workshop_id}/today', sends: ['date'],
    reads: ['workshop_id', 'date', 'complete', 'done', 'total',
      ...['items', 'missing'].flatMap((list) =>
        ['kind', 'kind_name', 'subject', 'subject_id', 'done', 'entry_id'].map((f) => `${list}[].${f}`))]},
  lastEntry: {method: 'GET', path: '/workshops/{workshop_id}/ledgers/{kind}/last',
    reads: ['kind', 'entry_id', 'occurred_at', 'template']},
  morningCheck: {method: 'POST', path: '/workshops/{workshop_id}/ledgers/morning_check',
    idempotent: true, reads: ENTRY,
    sends: [...LEDGER_COMMON, 'checks[].staff_id', 'checks[].temperature', 'checks[].symptoms',
      'checks[].hand_wounds', 'checks[].fit_for_work', 'checks[].note']},
  rawAcceptance: {method: 'POST', path: '/workshops/{workshop_id}/ledgers/raw_acceptance',
    idempotent: true, reads: ENTRY,
    sends: [...LEDGER_COMMON, 'supplier_id', 'supplier.name', 'supplier.licence_no',
      'material_name', 'specification', 'quantity', 'unit', 'supplier_batch_no', 'produced_on',
      'shelf_life_days', 'expires_on', 'supplier_licence_checked', 'certificate_checked',
      'sensory_ok']},
  production: {method: 'POST', path: '/workshops/{workshop_id}/ledgers/production',
    idempotent: true, reads: ENTRY,
    sends: [...LEDGER_COMMON, 'batch_no', 'process', 'quantity', 'unit']},
  cleaning: {method: 'POST', path: '/workshops/{workshop_id}/ledgers/cleaning',
    idempotent: true, reads: ENTRY,
    sends: [...LEDGER_COMMON, 'what', 'how', 'disinfectant']},
  additiveUse: {method: 'POST', path: '/batches/{batch_no}/additives', idempotent: true,
    reads: ['additive', 'check.status', 'check.message', 'check.warnings'],
    sends: ['occurred_at', 'additive', 'amount', 'unit', 'purpose', 'batch_mass_kg']},
  sale: {method: 'POST', path: '/workshops/{workshop_id}/ledgers/sale', idempotent: true,
    reads: ENTRY,
    sends: [...LEDGER_COMMON, 'buyer.name', 'buyer.contact_phone', 'shipped_on',
      'items[].batch_no', 'items[].quantity']},
  upload: {method: 'POST', path: '/uploads', multipart: 'file', idempotent: true,
    reads: ['id', 'sha256', 'size', 'content_type', 'filename']},
  rawLots: {method: 'GET', path: '/workshops/{workshop_id}/raw-lots', sends: ['available'],
    reads: ['items[].id', 'items[].lot_no', 'items[].material_name', 'items[].remaining',
      'items[].unit', 'items[].purchased_on', 'items[].supplier.name']},
  products: {method: 'GET', path: '/workshops/{workshop_id}/products',
    reads: ['items[].id', 'items[].name', 'items[].specification', 'items[].category_code']},
  openBatch: {method: 'POST', path: '/workshops/{workshop_id}/batches', idempotent: true,
    sends: ['occurred_at', 'product_id', 'planned_quantity', 'unit', 'process',
      'inputs[].raw_lot_id', 'inputs[].quantity', 'start'],
    reads: ['batch_no', 'state', 'product.name', 'inputs[].lot_no', 'inputs[].quantity']},
  moveBatch: {method: 'POST', path: '/batches/{batch_no}/state', idempotent: true,
    sends: ['to', 'quantity', 'inspection.inspection_cert_no', 'inspection.items',
      'inspection.result'],
    reads: ['batch_no', 'state']},
  issueCodes: {method: 'POST', path: '/batches/{batch_no}/codes', idempotent: true,
    sends: ['count', 'kind'],
    reads: ['id', 'batch_no', 'kind', 'count', 'first_serial', 'last_serial']},
  startLabels: {method: 'POST', path: '/issuances/{issuance_id}/labels',
    reads: ['id', 'status', 'done', 'total', 'progress', 'download_url', 'error']},
  printJob: {method: 'GET', path: '/print-jobs/{job_id}',
    reads: ['id', 'status', 'done', 'total', 'progress', 'download_url', 'error']},
  scanLink: {method: 'GET', path: '/scan', auth: false, sends: ['q', 'region'], reads: SCAN_VIEW},
  scanCode: {method: 'GET', path: '/scan/{code}', auth: false, sends: ['region'], reads: SCAN_VIEW},
  fileComplaint: {method: 'POST', path: '/complaints', auth: false,
    sends: ['content', 'code', 'contact_name', 'contact_phone'],
    reads: ['reference', 'status', 'created_at']},
  findWorkshops: {method: 'GET', path: '/workshops', sends: ['q', 'page'],
    reads: ['total', 'items[].id', 'items[].name', 'items[].registration_no',
      'items[].operator_name', 'items[].address']},
  createSample: {method: 'POST', path: '/samples', idempotent: true,
    sends: ['kind', 'batch_no', 'product_id', 'task_source', 'sampled_at', 'sampling_place',
      'testing_agency', 'station'],
    reads: SAMPLE},
  postResults: {method: 'POST', path: '/samples/{sample_no}/results', idempotent: true,
    sends: ['results[].item_code', 'results[].method', 'results[].value', 'results[].unit',
      'results[].qualitative', 'results[].device_no'],
    reads: ['sample.sample_no', 'sample.status',
      ...QUALITY_RESULT.map((f) => `results[].${f}`), 'held', 'recall_recommended',
      'confirmation_sample_no']},
  getSample: {method: 'GET', path: '/samples/{sample_no}', reads: SAMPLE},
}

class ApiError extends Error {
  constructor({status, error, message, errors, network}) {
    super(message || '请求失败')
    this.status = status || 0
    this.error = error || (network ? 'network' : 'unknown')
    this.errors = errors || {}
    this.network = Boolean(network)
  }

  // Field messages flattened: {"checks.0.temperature": "…"} → first text per field.
  fieldMessages() {
    const out = {}
    const walk = (value, prefix) => {
      if (Array.isArray(value)) {
        if (value.every((v) => typeof v === 'string')) out[prefix] = value.join('；')
        else value.forEach((v, i) => walk(v, `${prefix}.${i}`))
      } else if (value && typeof value === 'object') {
        Object.keys(value).forEach((k) => {
          const next = ['json', 'query', 'form', 'files'].includes(k) && !prefix ? '' : k
          walk(value[k], prefix && next ? `${prefix}.${next}` : prefix || next)
        })
      } else if (typeof value === 'string') {
        out[prefix] = value
      }
    }
    walk(this.errors, '')
    return out
  }
}

// Keep only the declared paths of value.
function project(value, paths) {
  if (value === null || value === undefined) return value
  const tree = {}
  paths.forEach((p) => {
    let node = tree
    p.split('.').forEach((part) => {
      node[part] = node[part] || {}
      node = node[part]
    })
  })
  const cut = (v, node) => {
    if (v === null || v === undefined || typeof v !== 'object') return v
    if (Object.keys(node).length === 0) return v // the whole value is read
    const out = {}
    Object.keys(node).forEach((key) => {
      const list = key.endsWith('[]')
      const name = list ? key.slice(0, -2) : key
      if (!(name in v)) return
      out[name] = list && Array.isArray(v[name]) ? v[name].map((item) => cut(item, node[key])) : cut(v[name], node[key])
    })
    return out
  }
  return cut(value, tree)
}

function fillPath(template, params) {
  return template.replace(/\{(\w+)\}/g, (_, name) => {
    if (params[name] === undefined || params[name] === null || params[name] === '') {
      throw new Error(`missing path parameter ${name}`)
    }
    return encodeURIComponent(String(params[name]))
  })
}

function query(data) {
  const parts = Object.keys(data || {})
    .filter((k) => data[k] !== undefined && data[k] !== null && data[k] !== '')
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(String(data[k]))}`)
  return parts.length ? `?${parts.join('&')}` : ''
}

function newKey() {
  const random = Math.random().toString(36).slice(2, 10)
  return `mp-${Date.now().toString(36)}-${random}`
}

function token() {
  return store.get(store.KEYS.token, '')
}

function setSession(login) {
  store.set(store.KEYS.token, login.token)
  store.set(store.KEYS.profile, login.user)
}

function clearSession() {
  store.remove(store.KEYS.token)
  store.remove(store.KEYS.profile)
}

function errorFrom(statusCode, data) {
  const body = data && typeof data === 'object' ? data : {}
  return new ApiError({
    status: statusCode,
    error: body.error,
    message: body.message || `请求失败（${statusCode}）`,
    errors: body.errors,
  })
}

// Send one operation. params: path parameters; body: what to send (cut to `sends`);
// options.idempotencyKey: the key of a queued write (a new one otherwise).
function call(name, params = {}, body = {}, options = {}) {
  const op = OPERATIONS[name]
  if (!op) return Promise.reject(new Error(`unknown operation ${name}`))
  let path
  try {
    path = fillPath(op.path, params)
  } catch (e) {
    return Promise.reject(e)
  }
  const sent = op.sends ? project(body, op.sends) : undefined
  const header = {}
  if (op.auth !== false && token()) header.Authorization = `Bearer ${token()}`
  if (op.idempotent) header['Idempotency-Key'] = options.idempotencyKey || newKey()
  const url = config.apiBase + path + (op.method === 'GET' ? query(sent) : '')
  return new Promise((resolve, reject) => {
    const done = (statusCode, data) => {
      if (typeof data === 'string' && data) {
        try {
          data = JSON.parse(data)
        } catch (e) {
          // keep the text
        }
      }
      if (statusCode >= 200 && statusCode < 300) {
        resolve(op.reads ? project(data, op.reads) : data)
        return
      }
      if (statusCode === 401 && op.auth !== false) clearSession()
      reject(errorFrom(statusCode, data))
    }
    const fail = (err) => reject(new ApiError({
      network: true,
      message: '网络不通，请稍后再试',
      error: 'network',
      errors: {},
      status: 0,
      detail: err && err.errMsg,
    }))
    if (op.multipart) {
      wx.uploadFile({
        url,
        filePath: body.filePath,
        name: op.multipart,
        header,
        timeout: config.requestTimeout,
        success: (res) => done(res.statusCode, res.data),
        fail,
      })
      return
    }
    wx.request({
      url,
      method: op.method,
      data: op.method === 'GET' ? undefined : sent,
      header: {...header, 'content-type': 'application/json'},
      timeout: config.requestTimeout,
      success: (res) => done(res.statusCode, res.data),
      fail,
    })
  })
}

// WeChat login: wx.login's code for our token (kept in storage).
function login() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => call('login', {}, {code: res.code}).then((result) => {
        setSession(result)
        resolve(result)
      }, reject),
      fail: () => reject(new ApiError({network: true, message: '微信登录失败，请稍后再试'})),
    })
  })
}

module.exports = {OPERATIONS, ApiError, call, login, project, token, setSession, clearSession, newKey}
