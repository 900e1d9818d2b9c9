// Operator journey, continued: open a batch from accepted lots, issue its codes, get the
// label sheet and open the PDF.
const {install} = require('./support/wx')
const {loadPage, text} = require('./support/page')
const operator = require('./fixtures/operator.json')

let server
let page
beforeEach(async () => {
  jest.resetModules()
  server = install()
  const store = require('../utils/store')
  store.set(store.KEYS.token, 'tok')
  store.set(store.KEYS.workshop, operator.me.body.workshops[0])
  page = loadPage('batch')
  server.answer(operator.products, operator.raw_lots)
  await page.instance.onLoad()
})

const lot = operator.raw_lots.body.items[0]
const lotInput = (id, value) => page.instance.onLot({currentTarget: {dataset: {id}}, detail: {value}})
const fill = (field, value) => page.instance.onField({currentTarget: {dataset: {field}}, detail: {value}})

test('the accepted lots with what is left, and the products, are offered', () => {
  expect(server.sent.map((s) => s.path)).toEqual(['/workshops/1/products', '/workshops/1/raw-lots?available=1'])
  expect(text(page, '#lots')).toContain(`${lot.material_name}${lot.lot_no}`)
  expect(text(page, '#lots')).toContain('还剩 50 kg')
})

test('nothing is sent without a product and a lot quantity', async () => {
  await page.instance.open()
  expect(text(page)).toContain('请选择产品')
  expect(text(page, '#error-inputs')).toBe('请至少填写一种原料的用量')
  expect(server.sent).toHaveLength(2)
})

test('open a batch, issue codes, get the label sheet and open it', async () => {
  const req = operator.open_batch.request
  page.instance.pickProduct({detail: {value: '0'}})
  expect(text(page, '#product')).toContain('坊洋黑豆腐')
  lotInput(lot.id, String(req.inputs[0].quantity))
  fill('planned', String(req.planned_quantity))
  fill('unit', req.unit)
  fill('process', req.process)
  server.answer(operator.open_batch)
  await page.instance.open()
  const sent = server.sent[2]
  expect(sent.path).toBe('/workshops/1/batches')
  const {occurred_at: _, ...expected} = req
  expect(sent.data).toMatchObject(expected)
  expect(text(page, '#batch')).toContain(operator.open_batch.body.batch_no)
  expect(text(page, '#batch')).toContain('生产中')

  fill('count', '0')
  await page.instance.issue()
  expect(text(page, '#error-count')).toContain('请填写 1 到 100000 之间的整数')
  fill('count', '3')
  server.answer(operator.issue_codes, operator.labels)
  await page.instance.issue()
  expect(server.sent[3]).toMatchObject({path: `/batches/${operator.open_batch.body.batch_no}/codes`, data: operator.issue_codes.request})
  expect(server.sent[4].path).toBe(`/issuances/${operator.issue_codes.body.id}/labels`)
  expect(text(page, '#issuance')).toContain('已生成 3 个码（第 1–3 号）')
  expect(text(page, '#ready')).toBe('标签已生成，可以打印')

  server.wx.downloadFile.mockImplementation(({success}) => success({statusCode: 200, tempFilePath: 'wxfile://labels.pdf'}))
  page.instance.openSheet()
  expect(server.wx.downloadFile.mock.calls[0][0]).toMatchObject({url: operator.labels.body.download_url, header: {Authorization: 'Bearer tok'}})
  expect(server.wx.openDocument).toHaveBeenCalledWith({filePath: 'wxfile://labels.pdf', fileType: 'pdf', showMenu: true})
})

test('a print job still running is followed until done', async () => {
  jest.useFakeTimers()
  const {page: logic} = require('../pages/batch/logic')
  expect(logic).toBeDefined()
  page.instance.setData({issuance: {id: 1}})
  server.answer({...operator.labels, body: {...operator.labels.body, status: 'running', progress: 0.5, download_url: null, done: 1}}, operator.print_job)
  const done = page.instance.labels()
  await jest.advanceTimersByTimeAsync(10)
  expect(page.instance.data.job).toMatchObject({status: 'running', percent: 50})
  await jest.advanceTimersByTimeAsync(2100)
  await done
  expect(server.sent[server.sent.length - 1].path).toBe('/print-jobs/1')
  expect(page.instance.data.job).toMatchObject({status: 'done', url: operator.print_job.body.download_url})
  jest.useRealTimers()
})

test('using more of a lot than is left: the sentence, and the reason on the lot\'s row', async () => {
  page.instance.pickProduct({detail: {value: '0'}})
  lotInput(lot.id, '1000')
  server.answer(operator.open_batch_overspent)
  await page.instance.open()
  expect(server.sent[2].data.inputs).toEqual(operator.open_batch_overspent.request.inputs)
  expect(text(page, '#error')).toBe(operator.open_batch_overspent.body.message)
  expect(page.instance.data.lotErrors[lot.id]).toBe('only 20.000 left')
  expect(text(page, '#lots')).toContain('only 20.000 left')
  expect(page.instance.data.step).toBe('open')
})

test('production finished, then released with the outgoing inspection', async () => {
  page.instance.pickProduct({detail: {value: '0'}})
  lotInput(lot.id, '30')
  server.answer(operator.open_batch)
  await page.instance.open()
  const move = (to) => page.instance.move({currentTarget: {dataset: {to}}})
  await move('pending_release')
  expect(text(page, '#finish')).toContain('请填写实际做了多少')
  fill('made', '180')
  server.answer(operator.state_pending_release)
  await move('pending_release')
  const batchNo = operator.open_batch.body.batch_no
  expect(server.sent[3]).toMatchObject({path: `/batches/${batchNo}/state`, data: operator.state_pending_release.request})
  expect(text(page, '#batch')).toContain('待放行')
  expect(page.querySelector('#finish')).toBeFalsy()

  await move('released')
  expect(text(page, '#release')).toContain('请填写出厂检验单号')
  fill('certNo', 'CC-001')
  fill('checked', '感官，净含量')
  server.answer(operator.state_released)
  await move('released')
  expect(server.sent[4].data).toEqual(operator.state_released.request)
  expect(text(page, '#batch')).toContain('已放行')
  expect(page.querySelector('#release')).toBeFalsy()
})
