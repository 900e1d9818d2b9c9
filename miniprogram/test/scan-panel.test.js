// The scan page answers first (issue 15): the status panel of a released, a held and a
// recalled batch, and the additives list, against the answers the API recorded
// (tests/miniprogram/test_fixtures.py::test_consumer_journey).
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

const code = consumer.scan_code.body.code.code

async function open(answer) {
  server.answer(answer)
  page.instance.onLoad({code})
  await settle()
}

// Text without spaces (WXML drops the blanks between a <text> and what follows it).
function bare(selector) {
  return text(page, selector).replace(/\s+/g, '')
}

function panelClass() {
  return page.querySelector('#status').dom.className
}

// The panel's position among everything the page shows: it comes before anything else.
function comesFirst() {
  const panel = page.querySelector('#status').dom
  for (const id of ['#alerts', '#scan-line', '#product-info', '#batch', '#additives', '#tests']) {
    const other = page.querySelector(id).dom
    expect(panel.compareDocumentPosition(other) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy()
  }
  expect(text(page).indexOf(text(page, '#status'))).toBe(0) // nothing before it
}

test('the recorded answers are a released, a held and a recalled batch with their verdicts', () => {
  const answers = [consumer.scan_code, consumer.scan_held, consumer.scan_recalled].map((a) => a.body)
  expect(answers.map((b) => b.batch.state)).toEqual(['released', 'held', 'recalled'])
  expect(answers.map((b) => b.verdict.result)).toEqual(['pass', 'pending', 'fail'])
})

test('a released batch that passed: green, ✓ 已放行, product, workshop, date, ✓ 合格 with its day', async () => {
  await open(consumer.scan_code)
  const body = consumer.scan_code.body
  comesFirst()
  expect(panelClass()).toContain('status-tone-ok')
  expect(bare('#status-word')).toBe('✓已放行')
  expect(text(page, '#product')).toBe(body.product.name)
  expect(text(page, '#status')).toContain(body.workshop.name)
  const [y, m, d] = body.batch.produced_on.split('-').map(Number)
  expect(bare('#produced-on')).toBe(`${y}年${m}月${d}日`)
  const [vy, vm, vd] = body.verdict.date.split('-').map(Number)
  expect(bare('#verdict')).toBe(`✓合格${vy}年${vm}月${vd}日`)
  expect(page.querySelector('#verdict').dom.className).toContain('tone-good')
  // the recorded answer carries the workshop's registration (valid until a day)
  const [ry, rm, rd] = body.workshop.registration.valid_until.split('-').map(Number)
  expect(bare('#registration')).toBe(`✓有效至${ry}年${rm}月${rd}日`)
  expect(text(page, '#scan-line')).toContain(`追溯码 ${body.code.code}`)
})

test('a held batch: amber, ! 已暂控, verdict pending (待检) with the screen day; the alert follows', async () => {
  await open(consumer.scan_held)
  const body = consumer.scan_held.body
  comesFirst()
  expect(panelClass()).toContain('status-tone-caution')
  expect(bare('#status-word')).toBe('!已暂控')
  expect(bare('#verdict')).toMatch(/^\?待检\d{4}年\d{1,2}月\d{1,2}日$/)
  expect(text(page, '#alerts')).toContain(body.alerts[0].message)
  expect(text(page, '#alerts')).toContain(body.batch.hold_reason)
})

test('a recalled batch: red, ✕ 已召回, ✕ 不合格', async () => {
  await open(consumer.scan_recalled)
  comesFirst()
  expect(panelClass()).toContain('status-tone-danger')
  expect(bare('#status-word')).toBe('✕已召回')
  expect(bare('#verdict')).toMatch(/^✕不合格\d{4}年/)
  expect(page.querySelector('#verdict').dom.className).toContain('tone-bad')
})

test('the additives list shows what the batch used, with purpose and amount', async () => {
  await open(consumer.scan_code)
  const [additive] = consumer.scan_code.body.batch.additives
  expect(additive.name).toBe('盐卤（氯化镁）')
  const rows = page.querySelectorAll('#additives .additive')
  expect(rows).toHaveLength(1)
  expect(bare('#additives')).toBe(`${additive.name}${additive.purpose}${additive.amount}${additive.unit}`)
  // and the held and recalled batches keep theirs
  for (const answer of [consumer.scan_held, consumer.scan_recalled]) {
    await open(answer)
    expect(text(page, '#additives')).toContain(additive.name)
  }
})

test('a batch without additives says none were recorded', async () => {
  const body = consumer.scan_code.body
  await open({...consumer.scan_code, body: {...body, batch: {...body.batch, additives: []}}})
  expect(text(page, '#additives')).toBe('未登记使用食品添加剂。')
})

test('a released batch past its shelf life reads 已过期 in amber', async () => {
  const body = consumer.scan_code.body
  const alerts = [{level: 'warning', kind: 'expired', message: '该产品已超过保质期（2026-11-20 到期）。', reason: ''}]
  await open({...consumer.scan_code, body: {...body, alerts}})
  expect(panelClass()).toContain('status-tone-caution')
  expect(bare('#status-word')).toBe('!已过期')
})

test('a result judged against an unchecked limit shows its reading but no verdict', async () => {
  const body = consumer.scan_code.body
  const tests = [{...body.tests[0], limit: {...body.tests[0].limit, verified: false}}]
  await open({...consumer.scan_code, body: {...body, tests, verdict: {result: 'pending', date: null}}})
  expect(text(page, '#tests')).toContain('阴性')
  expect(text(page, '#tests')).not.toContain('合格')
  expect(text(page, '#tests')).not.toContain('限量')
  expect(text(page, '#tests')).not.toMatch(/待核实|尚待|未经核对/)
  expect(bare('#verdict')).toBe('?待检')
})

test('registration: valid until a day, or expired with the reason; a batch made after expiry is flagged', async () => {
  const body = consumer.scan_code.body
  const valid = {valid: true, state: 'valid', valid_until: '2028-03-01', message: null}
  await open({...consumer.scan_code, body: {...body, workshop: {...body.workshop, registration: valid}}})
  expect(bare('#registration')).toBe('✓有效至2028年3月1日')
  expect(panelClass()).toContain('status-tone-ok')

  const expired = {valid: false, state: 'expired', valid_until: '2026-10-01', message: '该作坊的登记证已于 2026年10月1日 过期。'}
  const batch = {...body.batch, made_after_expiry: true}
  await open({...consumer.scan_code, body: {...body, batch, workshop: {...body.workshop, registration: expired}}})
  expect(bare('#registration')).toBe('✕已于2026年10月1日过期')
  expect(text(page, '#status')).toContain(expired.message)
  expect(text(page, '#status')).toContain('该批次生产时，作坊的登记证已过期。')
  expect(panelClass()).toContain('status-tone-caution')
})
