// Consumer journey, continued: the complaint form from the scan page, and the home page's
// doors (scan, operator, inspector).
const {install} = require('./support/wx')
const {loadPage, text} = require('./support/page')
const consumer = require('./fixtures/consumer.json')
const operator = require('./fixtures/operator.json')

let server
beforeEach(() => {
  jest.resetModules()
  server = install()
})

const fill = (page, field, value) => page.instance.onInput({currentTarget: {dataset: {field}}, detail: {value}})

test('a complaint is filed with the code it came from and its reference shown', async () => {
  const page = loadPage('complaint')
  const req = consumer.complaint.request
  page.instance.onLoad({code: req.code})
  fill(page, 'content', req.content)
  fill(page, 'contact_name', req.contact_name)
  fill(page, 'contact_phone', req.contact_phone)
  server.answer(consumer.complaint)
  await page.instance.submit()
  expect(server.sent[0]).toMatchObject({path: '/complaints', data: req})
  expect(server.sent[0].header.Authorization).toBeUndefined()
  expect(text(page, '#done')).toContain(consumer.complaint.body.reference)
})

test('an empty complaint: the server\'s refusal beside the field, in Chinese', async () => {
  const page = loadPage('complaint')
  page.instance.onLoad({code: consumer.complaint_refused.request.code})
  server.answer(consumer.complaint_refused)
  await page.instance.submit()
  expect(server.sent[0].data).toEqual(consumer.complaint_refused.request)
  expect(text(page, '#error')).toBe(consumer.complaint_refused.body.message)
  expect(text(page, '#error-content')).toBe('请填写内容（最多 2000 字）')
  expect(page.querySelector('#done')).toBeFalsy()
})

test('home: the scan button opens the scan page with the code read by the camera', () => {
  const page = loadPage('home')
  const link = consumer.scan_code.body.code.url
  server.wx.scanCode.mockImplementation(({success}) => success({result: link}))
  page.instance.scan()
  expect(server.wx.navigateTo).toHaveBeenCalledWith({url: `/pages/scan/index?code=${consumer.scan_code.body.code.code}`})
  server.wx.scanCode.mockImplementation(({success}) => success({result: 'hello'}))
  page.instance.scan()
  expect(server.wx.showToast).toHaveBeenCalledWith({title: '不是一品一码的追溯码', icon: 'none'})
})

test('home: operators go to log in first, then straight to today\'s checklist', () => {
  const page = loadPage('home')
  page.instance.operator()
  expect(server.wx.navigateTo).toHaveBeenLastCalledWith({url: '/pages/login/index'})
  const store = require('../utils/store')
  store.set(store.KEYS.token, 'tok')
  store.set(store.KEYS.profile, operator.me.body)
  page.instance.operator()
  expect(server.wx.navigateTo).toHaveBeenLastCalledWith({url: '/pages/today/index'})
  page.instance.inspector()
  expect(server.wx.navigateTo).toHaveBeenLastCalledWith({url: '/pages/login/index?next=inspector'})
})

test('the app sends the queue when the network returns', async () => {
  const store = require('../utils/store')
  store.set(store.KEYS.token, 'tok')
  const queue = require('../utils/queue')
  server.setOffline(true)
  await queue.submit('cleaning', {workshop_id: 1}, operator.cleaning.request)
  server.setOffline(false)
  server.answer(operator.cleaning)
  global.App = jest.fn()
  const app = require('../app')
  expect(global.App).toHaveBeenCalledWith(app)
  app.onLaunch()
  const [listener] = server.wx.onNetworkStatusChange.mock.calls[0]
  listener({isConnected: true})
  await queue.flush()
  expect(queue.pending()).toEqual([])
  expect(server.sent.filter((s) => s.path.endsWith('/cleaning'))).toHaveLength(2) // offline try, then the send
  delete global.App
})
