// Consumer journey: scan entry → the one-screen view (alerts first), cameras, share card.
const {install} = require('./support/wx')
const {loadPage, text, settle} = require('./support/page')
const consumer = require('./fixtures/consumer.json')

let server
let page
beforeEach(() => {
  jest.resetModules()
  server = install()
  page = loadPage('scan')
})

const link = consumer.scan_code.body.code.url

test('an ordinary-link QR asks GET /scan?q= with the printed link and shows the view', async () => {
  server.answer(consumer.scan_link)
  page.instance.onLoad({q: encodeURIComponent(link), scancode_time: '1764118800'})
  await settle()
  expect(server.sent[0].path).toBe(`/scan?q=${encodeURIComponent(link)}`)
  const view = consumer.scan_link.body
  expect(text(page, '#product')).toContain(view.product.name)
  expect(text(page, '#batch')).toContain(view.batch.batch_no)
  expect(text(page, '#batch')).toContain('已放行')
  expect(text(page, '#materials')).toContain('黑豆')
  expect(text(page, '#materials')).toContain('长泰黑豆合作社')
  expect(text(page, '#materials')).toContain('验收合格')
  expect(text(page, '#scan-line')).toContain('第 1 次查询')
  expect(page.querySelector('#repeat')).toBeFalsy()
  expect(text(page, '#inspection')).toContain('暂无监督检查记录')
  expect(text(page, '#tests')).toContain('苯甲酸及其钠盐')
  expect(text(page, '#additives')).toContain('盐卤（氯化镁）')
})

test('a mini-program code (scene) asks GET /scan/<code>', async () => {
  server.answer(consumer.scan_code)
  const code = consumer.scan_code.body.code.code
  page.instance.onLoad({scene: encodeURIComponent(code)})
  await settle()
  expect(server.sent[0].path).toBe(`/scan/${code}`)
  expect(page.instance.data.code).toBe(code)
})

test('a recalled batch: the status panel says so first, the alert follows, with the repeat warning', async () => {
  server.answer(consumer.scan_recalled)
  page.instance.onLoad({scene: consumer.scan_code.body.code.code})
  await settle()
  const all = text(page)
  const alert = consumer.scan_recalled.body.alerts[0]
  expect(all.indexOf('已召回')).toBeGreaterThanOrEqual(0)
  expect(all.indexOf('已召回')).toBeLessThan(all.indexOf(consumer.scan_recalled.body.product.name))
  expect(all.indexOf(consumer.scan_recalled.body.product.name)).toBeLessThan(all.indexOf(alert.message))
  expect(all.indexOf(alert.message)).toBeLessThan(all.indexOf('产品信息'))
  expect(page.querySelector('#alerts').dom.innerHTML).toContain('alert-danger')
  expect(text(page, '#repeat')).toBe(consumer.scan_recalled.body.scan.notice)
})

test('a held batch and a suspected counterfeit are shown as alerts', async () => {
  server.answer(consumer.scan_held)
  page.instance.onLoad({code: consumer.scan_code.body.code.code})
  await settle()
  expect(text(page, '#alerts')).toContain('暂停销售')
  expect(text(page, '#alerts')).toContain(consumer.scan_held.body.alerts[0].reason)
  server.answer(consumer.scan_repeated)
  page.instance.onLoad({code: consumer.scan_code.body.code.code})
  await settle()
  expect(page.querySelector('#alerts').dom.innerHTML).toContain('alert-warning')
  expect(text(page, '#scan-line')).toContain('第 22 次查询')
})

test('a live camera plays the signed HLS link in <video>; a dark one shows its snapshot and hours', async () => {
  const camera = consumer.scan_code.body.cameras[0]
  const dark = {...camera, id: 2, name: '包装区', live: false, playback_url: null, snapshot_url: 'https://yipin.example.cn/live/cameras/2/snapshot.jpg?v=7', live_from: '06:00', live_until: '20:00'}
  server.answer({...consumer.scan_code, body: {...consumer.scan_code.body, cameras: [camera, dark]}})
  page.instance.onLoad({code: consumer.scan_code.body.code.code})
  await settle()
  const html = page.dom.innerHTML
  expect(html.match(/<wx-video/g)).toHaveLength(1) // only the live camera plays
  expect(html.match(/<wx-image class="camera-snapshot"/g)).toHaveLength(1)
  const [live, off] = page.instance.data.view.cameras
  expect(live).toMatchObject({live: true, url: camera.playback_url}) // the <video> src
  expect(off).toMatchObject({live: false, url: '', snapshot: dark.snapshot_url, hours: '06:00–20:00'})
  expect(text(page)).toContain('当前未直播')
  expect(text(page)).toContain('直播时间 06:00–20:00')
})

test('test results show their verdicts, and the last inspection its outcome', async () => {
  const tests = [
    {item: '苯甲酸及其钠盐', kind: 'rapid', qualitative: 'negative', value: null, unit: 'g/kg', verdict: 'pass', agency: '长泰区快检车', limit: {comparison: 'not_permitted', standard: 'GB 2760', verified: true}},
    {item: '铝的残留量', kind: 'lab', qualitative: null, value: '120', unit: 'mg/kg', verdict: 'fail', agency: '区检测中心', limit: {comparison: 'max', value: '100', unit: 'mg/kg', standard: 'GB 2762', verified: true}},
  ]
  const inspection = {date: '2026-09-01', outcome: 'rectify', summary: ''}
  server.answer({...consumer.scan_code, body: {...consumer.scan_code.body, tests, inspection}})
  page.instance.onLoad({code: consumer.scan_code.body.code.code})
  await settle()
  expect(text(page, '#tests')).toContain('苯甲酸及其钠盐')
  expect(text(page, '#tests')).toContain('阴性')
  expect(text(page, '#tests')).toContain('合格')
  expect(text(page, '#tests')).toContain('120 mg/kg')
  expect(text(page, '#tests')).toContain('不合格')
  expect(text(page, '#tests')).toContain('限量：≤ 100 mg/kg（GB 2762）')
  expect(text(page, '#inspection')).toContain('2026年9月1日')
  expect(text(page, '#inspection')).toContain('基本符合')
})

test('the camera button reads a code with wx.scanCode; a malformed one is explained without a request', async () => {
  server.wx.scanCode.mockImplementation(({success}) => success({result: link}))
  server.answer(consumer.scan_link)
  page.instance.scanAgain()
  await settle()
  expect(server.sent[0].path).toBe(`/scan?q=${encodeURIComponent(link)}`)
  server.wx.scanCode.mockImplementation(({success}) => success({result: 'not a code'}))
  page.instance.scanAgain()
  await settle()
  expect(server.sent).toHaveLength(1)
  expect(text(page, '#error')).toContain('没有读到有效的追溯码')
})

test('the server refusing a code shows its message', async () => {
  server.answer(consumer.scan_malformed)
  page.instance.onLoad({code: consumer.scan_code.body.code.code})
  await settle()
  expect(text(page, '#error')).toBe(consumer.scan_malformed.body.message)
})

test('the share card opens the same code; the complaint button carries it', async () => {
  server.answer(consumer.scan_code)
  const code = consumer.scan_code.body.code.code
  page.instance.onLoad({code})
  await settle()
  const card = page.instance.onShareAppMessage()
  expect(card.path).toBe(`/pages/scan/index?code=${code}`)
  expect(card.title).toContain(consumer.scan_code.body.product.name)
  page.instance.complain()
  expect(server.wx.navigateTo).toHaveBeenCalledWith({url: `/pages/complaint/index?code=${code}`})
})
