// Operator journey: WeChat login and invite binding, today's checklist with the pending
// queue, the ledger forms (copy from last time, photos, offline, refusals).
const {install} = require('./support/wx')
const {loadPage, text, settle} = require('./support/page')
const operator = require('./fixtures/operator.json')

let server
beforeEach(() => {
  jest.resetModules()
  jest.useRealTimers()
  server = install()
})

const store = () => require('../utils/store')
const workshop = operator.me.body.workshops[0]

function loggedIn() {
  store().set(store().KEYS.token, 'tok')
  store().set(store().KEYS.profile, operator.me.body)
  store().set(store().KEYS.workshop, workshop)
}

describe('login and invite binding', () => {
  test('a new operator logs in with wx.login and is asked for the invite code', async () => {
    const page = loadPage('login')
    server.answer(operator.login)
    await page.instance.login()
    expect(server.sent[0]).toMatchObject({path: '/auth/wechat/login', data: {code: 'lin-morning'}})
    expect(store().get(store().KEYS.token)).toBe(operator.login.body.token)
    expect(page.instance.data.step).toBe('invite')
    expect(text(page, '#invite-step')).toBe('绑定您的作坊')
  })

  test('a wrong invite code shows the server\'s sentence; a short one is caught before sending', async () => {
    const page = loadPage('login')
    server.answer(operator.login)
    await page.instance.login()
    page.instance.onInvite({detail: {value: 'abc'}})
    await page.instance.redeem()
    expect(text(page, '#error-code')).toBe('邀请码是 8 位字母和数字')
    expect(server.sent).toHaveLength(1)
    server.answer(operator.redeem_wrong)
    page.instance.onInvite({detail: {value: 'wxyz-9876'}})
    await page.instance.redeem()
    expect(server.sent[1]).toMatchObject({path: '/invites/redeem', data: {code: 'WXYZ9876'}})
    expect(server.sent[1].header['Idempotency-Key']).toBeTruthy()
    expect(text(page, '#error')).toBe(operator.redeem_wrong.body.message)
  })

  test('the right code binds the workshop and opens today\'s checklist', async () => {
    const page = loadPage('login')
    server.answer(operator.login, operator.redeem, operator.me)
    await page.instance.login()
    page.instance.onInvite({detail: {value: 'abcd 2345'}})
    await page.instance.redeem()
    expect(store().get(store().KEYS.workshop)).toEqual(operator.redeem.body.workshop)
    expect(server.wx.reLaunch).toHaveBeenCalledWith({url: '/pages/today/index'})
  })
})

describe("today's checklist", () => {
  test('shows what is done and what is missing, by person', async () => {
    loggedIn()
    const page = loadPage('today', {usingComponents: {'pending-queue': 'pending-queue'}})
    page.instance.onLoad()
    server.answer(operator.today)
    await page.instance.onShow()
    expect(server.sent[0].path).toBe('/workshops/1/today')
    expect(server.sent[0].header.Authorization).toBe('Bearer tok')
    expect(text(page, '#summary')).toBe('今天已完成 0 / 3 项')
    expect(text(page, '#checklist')).toContain('晨检')
    expect(text(page, '#checklist')).toContain('还差：林德福、王秀英')
    expect(text(page, '#checklist')).toContain('清洗消毒')
  })

  test('a workshop the operator no longer belongs to sends them to log in', async () => {
    loggedIn()
    const page = loadPage('today', {usingComponents: {'pending-queue': 'pending-queue'}})
    server.answer(operator.today_unbound)
    await page.instance.onShow()
    expect(server.wx.reLaunch).toHaveBeenCalledWith({url: '/pages/login/index'})
  })

  test('entries kept offline are listed as pending and sent from the page', async () => {
    loggedIn()
    const queue = require('../utils/queue')
    server.setOffline(true)
    await queue.submit('cleaning', {workshop_id: 1}, operator.cleaning.request, {label: '清洗消毒 11月26日 09:00'})
    const page = loadPage('today', {usingComponents: {'pending-queue': 'pending-queue'}})
    page.instance.onLoad()
    await page.instance.onShow()
    expect(text(page, '#error')).toContain('现在没有网络')
    expect(text(page, '#queue')).toContain('还有 1 条记录没有发送')
    expect(text(page, '#queue')).toContain('清洗消毒 11月26日 09:00')
    expect(text(page, '#queue')).toContain('等待联网发送')
    server.setOffline(false)
    server.answer(operator.cleaning, operator.today)
    await page.instance.sendPending()
    expect(text(page, '#queue')).toBe('')
    expect(queue.pending()).toEqual([])
    expect(server.wx.showToast).toHaveBeenCalledWith({title: '已发送 1 条', icon: 'success'})
  })
})

describe('ledger forms', () => {
  function staffKnown() {
    store().set('yipin.today', operator.today.body)
  }

  test('morning check: one screen per person, copied from last time, sent with numbers', async () => {
    loggedIn()
    staffKnown()
    const page = loadPage('ledger')
    await page.instance.onLoad({kind: 'morning_check'})
    expect(page.instance.data.count).toBe(2)
    expect(text(page, '#step-title')).toBe('林德福（第 1 / 2 人）')
    expect(page.instance.next()).toBe(false) // temperature missing
    expect(text(page)).toContain('请填写这一项')

    server.answer(operator.last_morning_check)
    await page.instance.copyLast()
    expect(page.instance.data.fields[0].value).toBe('36.4')
    expect(page.instance.next()).toBe(true)
    expect(text(page, '#step-title')).toBe('王秀英（第 2 / 2 人）')

    server.answer(operator.morning_check)
    await page.instance.submit()
    const sent = server.sent[server.sent.length - 1]
    expect(sent.path).toBe('/workshops/1/ledgers/morning_check')
    expect(sent.data.checks).toEqual(operator.morning_check.request.checks)
    expect(sent.data.occurred_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/)
    expect(text(page, '#saved')).toBe('已保存并上传。')
  })

  test('nothing to copy yet: the server\'s sentence, the form untouched', async () => {
    loggedIn()
    staffKnown()
    const page = loadPage('ledger')
    await page.instance.onLoad({kind: 'morning_check'})
    server.answer(operator.last_morning_check_none)
    await page.instance.copyLast()
    expect(server.wx.showToast).toHaveBeenCalledWith({title: operator.last_morning_check_none.body.message, icon: 'none'})
    expect(page.instance.data.fields[0].value).toBe('')
  })

  test('a refused morning check shows the reason beside the person\'s field', async () => {
    loggedIn()
    staffKnown()
    const page = loadPage('ledger')
    await page.instance.onLoad({kind: 'morning_check'})
    page.instance.onField({currentTarget: {dataset: {key: 'checks.0.temperature'}}, detail: {value: '36.4'}})
    page.instance.onField({currentTarget: {dataset: {key: 'checks.1.temperature'}}, detail: {value: '36.5'}})
    page.instance.render(1)
    server.answer(operator.morning_check_refused)
    await page.instance.submit()
    expect(text(page, '#error')).toBe(operator.morning_check_refused.body.message)
    expect(page.instance.data.step).toBe(0) // back on the person concerned
    expect(page.instance.data.fields.find((f) => f.key === 'checks.0.fit_for_work').error).toBe('health certificate expired 2026-11-23')
    expect(require('../utils/queue').pending()).toEqual([])
  })

  test('raw acceptance with a photo taken offline: kept, then photo uploaded first and the entry sent', async () => {
    loggedIn()
    const page = loadPage('ledger')
    await page.instance.onLoad({kind: 'raw_acceptance'})
    const req = operator.raw_acceptance.request
    const fill = (key, value) => page.instance.onField({currentTarget: {dataset: {key}}, detail: {value}})
    fill('material_name', req.material_name)
    fill('quantity', String(req.quantity))
    fill('supplier.name', '长泰黑豆合作社')
    fill('produced_on', req.produced_on)
    fill('shelf_life_days', String(req.shelf_life_days))
    fill('specification', req.specification)
    fill('supplier_batch_no', req.supplier_batch_no)
    fill('supplier_licence_checked', true)
    fill('certificate_checked', true)
    server.wx.chooseMedia.mockImplementation(({success}) => success({tempFiles: [{tempFilePath: 'wxfile://cert.jpg'}]}))
    page.instance.render(page.instance.data.count - 1)
    page.instance.takePhoto()
    expect(text(page, '#photo')).toBe('拍照（1 张）')

    server.setOffline(true)
    await page.instance.submit()
    expect(text(page, '#saved')).toContain('已存在手机上')
    const queue = require('../utils/queue')
    expect(queue.pending()[0]).toMatchObject({op: 'rawAcceptance', files: ['wxfile://cert.jpg'], state: 'pending'})

    server.setOffline(false)
    server.answer(operator.upload, operator.raw_acceptance)
    await queue.flush()
    const [upload, entry] = server.sent.slice(-2)
    expect(upload).toMatchObject({kind: 'upload', filePath: 'wxfile://cert.jpg', path: '/uploads'})
    expect(entry.path).toBe('/workshops/1/ledgers/raw_acceptance')
    expect(entry.data).toMatchObject({material_name: '黑豆', quantity: 50, unit: 'kg', photos: [operator.upload.body.id],
      supplier: {name: '长泰黑豆合作社'}, supplier_licence_checked: true, certificate_checked: true, sensory_ok: true})
    expect(queue.pending()).toEqual([])
  })

  test('cleaning: a few fields per screen, sent as recorded by the server suite', async () => {
    loggedIn()
    const page = loadPage('ledger')
    await page.instance.onLoad({kind: 'cleaning'})
    Object.entries(operator.cleaning.request).forEach(([key, value]) => {
      if (key !== 'occurred_at') page.instance.onField({currentTarget: {dataset: {key}}, detail: {value}})
    })
    expect(page.instance.data.fields.length).toBeLessThanOrEqual(4)
    expect(page.instance.next()).toBe(true)
    server.answer(operator.cleaning)
    await page.instance.submit()
    const sent = server.sent[server.sent.length - 1]
    const {occurred_at: _, ...expected} = operator.cleaning.request
    expect(sent.data).toMatchObject(expected)
    expect(sent.header['Idempotency-Key']).toMatch(/^mp-/)
  })

  test('every form keeps to a few fields per screen', () => {
    const {KINDS} = require('../pages/ledger/logic')
    Object.values(KINDS).forEach((spec) => spec.screens.forEach((fields) => expect(fields.length).toBeLessThanOrEqual(4)))
  })
})

describe('reminder messages', () => {
  test('the ledger reminder opens today\'s checklist of the workshop it names', async () => {
    loggedIn()
    const other = {id: 7, name: '半里红曲酒坊', registration_no: 'X', role: 'staff'}
    store().set(store().KEYS.profile, {...operator.me.body, workshops: [workshop, other]})
    const page = loadPage('today', {usingComponents: {'pending-queue': 'pending-queue'}})
    page.instance.onLoad({workshop_id: '7', date: '2026-11-26'})
    expect(store().get(store().KEYS.workshop)).toEqual(other)
    page.instance.onLoad({workshop_id: '99'}) // not theirs: unchanged
    expect(store().get(store().KEYS.workshop)).toEqual(other)
  })

  test('the health-certificate reminder page exists (REMINDER_CERT_PAGE) and leads to today', () => {
    const app = require('../app.json')
    expect(app.pages).toContain('pages/staff/index')
    const page = loadPage('staff')
    page.instance.onLoad({staff_id: '3'})
    expect(text(page, '#advice')).toContain('健康证')
    page.instance.today()
    expect(server.wx.reLaunch).toHaveBeenCalledWith({url: '/pages/today/index'})
  })
})
