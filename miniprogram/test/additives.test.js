// The additive-use form: the batch's mass can be entered when the product's specification
// does not give it, a use the server flags for review says so, and a refusal (over the
// limit, non-food substance) shows the server's sentence on the screen with the field.
const {install} = require('./support/wx')
const {loadPage, text} = require('./support/page')
const operator = require('./fixtures/operator.json')

let server
beforeEach(() => {
  jest.resetModules()
  jest.useRealTimers()
  server = install()
})

const store = () => require('../utils/store')

function loggedIn() {
  store().set(store().KEYS.token, 'tok')
  store().set(store().KEYS.profile, operator.me.body)
  store().set(store().KEYS.workshop, operator.me.body.workshops[0])
}

const OPERATION = 'POST /api/v1/batches/{batch_no}/additives'

function fill(page, values) {
  Object.entries(values).forEach(([key, value]) => page.instance.onField({currentTarget: {dataset: {key}}, detail: {value}}))
}

async function formFilled(values) {
  loggedIn()
  const page = loadPage('ledger')
  await page.instance.onLoad({kind: 'additive_use'})
  fill(page, {batch_no: 'W1-20261207-01', additive: '山梨酸钾'})
  expect(page.instance.next()).toBe(true)
  fill(page, values)
  return page
}

describe('additive use', () => {
  test('the batch mass is sent as a number when entered, left out when not', async () => {
    const page = await formFilled({amount: '500', unit: 'g', batch_mass_kg: '100'})
    server.answer({operation: OPERATION, status: 201, body: {additive: {additive: '山梨酸钾'}, entry_id: 9, limit: null, check: {status: 'within', message: '', warnings: []}}})
    await page.instance.submit()
    const sent = server.sent[server.sent.length - 1]
    expect(sent.path).toBe('/batches/W1-20261207-01/additives')
    expect(sent.data).toMatchObject({additive: '山梨酸钾', amount: 500, unit: 'g', batch_mass_kg: 100})
    expect(page.instance.data.saved).toBe('已保存并上传。')

    const again = await formFilled({amount: '5', unit: 'g'})
    server.answer({operation: OPERATION, status: 201, body: {additive: {additive: '山梨酸钾'}, entry_id: 10, limit: null, check: {status: 'within', message: '', warnings: []}}})
    await again.instance.submit()
    expect(server.sent[server.sent.length - 1].data).not.toHaveProperty('batch_mass_kg')
  })

  test('a use recorded for review says so in the server\'s words', async () => {
    const page = await formFilled({amount: '500', unit: 'g'})
    const check = {status: 'review', amount_per_kg: '5', unit: 'g/kg', message: '山梨酸及其钾盐用量折合每千克5 g/kg，超过糕点的最大使用量 1 g/kg（依据：GB 2760-2024 表A.1 山梨酸及其钾盐（CNS 17.003、17.004） 07.02 糕点）。', warnings: ['该限量尚未与标准原文核对，本次记录已保存，待监管部门复核。']}
    server.answer({operation: OPERATION, status: 201, body: {additive: {additive: '山梨酸钾'}, entry_id: 11, limit: null, check}})
    await page.instance.submit()
    expect(page.instance.data.saved).toContain('超过糕点的最大使用量 1 g/kg')
    expect(page.instance.data.saved).toContain('待监管部门复核')
  })

  test('an over-limit refusal shows the server\'s sentence and keeps the form', async () => {
    const page = await formFilled({amount: '51', unit: 'g'})
    const message = '安赛蜜（乙酰磺胺酸钾）用量折合每千克0.51 g/kg，超过糕点的最大使用量 0.5 g/kg（依据：GB 2760-2024 表A.1 安赛蜜（CNS 19.011） 07.02 糕点）。'
    server.answer({operation: OPERATION, status: 422, body: {code: 422, status: 'Unprocessable Entity', error: 'additive_over_limit', message, errors: {additive: ['安赛蜜'], amount_per_kg: '0.51', limit: '0.5'}}})
    await page.instance.submit()
    expect(page.instance.data.error).toBe(message)
    expect(page.instance.data.saved).toBe('')
    expect(text(page)).toContain('超过糕点的最大使用量')
  })
})
