// Inspector journey: find a workshop or scan a code, record a sample and rapid-test
// readings on site, see the verdicts (a positive screen holds the batch).
const {install} = require('./support/wx')
const {loadPage, text, settle} = require('./support/page')
const inspector = require('./fixtures/inspector.json')
const consumer = require('./fixtures/consumer.json')

let server
let page
beforeEach(() => {
  jest.resetModules()
  server = install()
  const store = require('../utils/store')
  store.set(store.KEYS.token, 'tok')
  page = loadPage('inspector')
  page.instance.onLoad()
})

const fill = (field, value) => page.instance.onField({currentTarget: {dataset: {field}}, detail: {value}})
const tap = (method, dataset) => page.instance[method]({currentTarget: {dataset}})
const sample = inspector.sample

async function toSample() {
  server.answer(inspector.find_workshops, inspector.products)
  fill('q', '坊洋')
  await page.instance.find()
  await tap('choose', {index: 0})
}

test('find a workshop by name, pick it, record the sample with the batch number', async () => {
  fill('q', '')
  await page.instance.find()
  expect(text(page)).toContain('请输入作坊名称或登记证号')
  expect(server.sent).toHaveLength(0)

  await toSample()
  expect(server.sent[0].path).toBe(`/workshops?q=${encodeURIComponent('坊洋')}`)
  expect(server.sent[1].path).toBe('/workshops/1/products')
  expect(text(page, '#workshop')).toBe('坊洋黑豆腐坊')

  fill('batchNo', sample.request.batch_no)
  fill('agency', sample.request.testing_agency)
  fill('station', sample.request.station)
  server.answer(sample)
  await page.instance.createSample()
  const sent = server.sent[2]
  expect(sent.path).toBe('/samples')
  const {sampled_at: _, ...expected} = sample.request
  expect(sent.data).toEqual({...expected, sampled_at: expect.stringMatching(/T\d{2}:\d{2}:\d{2}[+-]/)})
  expect(sent.header['Idempotency-Key']).toMatch(/^mp-/)
  expect(text(page, '#sample')).toContain(sample.body.sample_no)
})

test('without a batch number or a product the sample is not sent', async () => {
  await toSample()
  await page.instance.createSample()
  expect(text(page, '#error-batch_no')).toBe('请填写批号，或选择产品')
  expect(server.sent).toHaveLength(2)
})

test('scanning a product names its workshop and batch', async () => {
  const link = consumer.scan_code.body.code.url
  server.wx.scanCode.mockImplementation(({success}) => success({result: link}))
  server.answer(consumer.scan_link)
  await page.instance.scan()
  await settle()
  expect(server.sent[0].path).toBe(`/scan?q=${encodeURIComponent(link)}`)
  expect(page.instance.data.step).toBe('sample')
  expect(page.instance.data.batchNo).toBe(consumer.scan_link.body.batch.batch_no)
  expect(text(page, '#workshop')).toBe(consumer.scan_link.body.workshop.name)
})

async function toResults() {
  await toSample()
  fill('batchNo', sample.request.batch_no)
  server.answer(sample)
  await page.instance.createSample()
}

function addReadings() {
  const {ITEMS} = require('../pages/inspector/logic')
  tap('addItem', {index: ITEMS.findIndex((i) => i.code === 'benzoic_acid')})
  tap('addItem', {index: ITEMS.findIndex((i) => i.code === 'aluminium')})
  page.instance.onReading({currentTarget: {dataset: {index: 0, field: 'device'}}, detail: {value: 'KJ-03'}})
}

test('rapid-test readings are sent as recorded by the server suite and the verdicts shown', async () => {
  await toResults()
  addReadings()
  await page.instance.postResults()
  expect(text(page)).toContain('请填写检测数值') // aluminium has no value yet
  page.instance.onReading({currentTarget: {dataset: {index: 1, field: 'reading'}}, detail: {value: '20.5'}})
  server.answer(inspector.results)
  await page.instance.postResults()
  const sent = server.sent[server.sent.length - 1]
  expect(sent.path).toBe(`/samples/${sample.body.sample_no}/results`)
  expect(sent.data).toEqual(inspector.results.request)
  expect(text(page, '#verdicts')).toContain('苯甲酸及其钠盐')
  expect(text(page, '#verdicts')).toContain('阴性 · 标准：不得使用')
  expect(text(page, '#verdicts')).toContain('20.5 mg/kg · 标准：≤100 mg/kg')
  expect(text(page, '#verdicts')).toContain('合格')
  expect(page.querySelector('#held')).toBeFalsy()

  server.answer(inspector.sample_detail)
  await page.instance.refresh()
  expect(server.sent[server.sent.length - 1].path).toBe(`/samples/${sample.body.sample_no}`)
  expect(page.instance.data.outcome.results).toHaveLength(2)
})

test('a positive screen: the batch is held and the confirmation sample named', async () => {
  await toResults()
  tap('addItem', {index: 0})
  tap('setPositive', {index: 0})
  server.answer(inspector.results_positive)
  await page.instance.postResults()
  expect(server.sent[server.sent.length - 1].data).toEqual(inspector.results_positive.request)
  expect(text(page, '#held')).toContain('该批次已自动暂停销售')
  expect(text(page, '#held')).toContain(inspector.results_positive.body.confirmation_sample_no)
  expect(text(page, '#verdicts')).toContain('快检阳性，待复检')
})

test('an item the standards table lacks: the server\'s sentence beside the item, nothing recorded', async () => {
  await toResults()
  page.instance.setData({rows: [{code: 'made_up', name: '自编项目', qualitative: true, method: '胶体金法', unit: '', reading: 'negative', device: ''}]})
  server.answer(inspector.results_refused)
  await page.instance.postResults()
  expect(server.sent[server.sent.length - 1].data).toEqual(inspector.results_refused.request)
  expect(text(page, '#error')).toBe(inspector.results_refused.body.message)
  expect(page.instance.data.rows[0].error).toBe('no row of the standards table for this category and item')
  expect(page.instance.data.step).toBe('results')
})

test('the testing agency and vehicle are remembered for the next sample', async () => {
  await toSample()
  fill('batchNo', sample.request.batch_no)
  fill('agency', '长泰区快检车')
  fill('station', '快检车 KJC-03')
  server.answer(sample)
  await page.instance.createSample()
  const next = loadPage('inspector')
  next.instance.onLoad()
  expect(next.instance.data).toMatchObject({agency: '长泰区快检车', station: '快检车 KJC-03'})
})
