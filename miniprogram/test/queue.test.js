// The offline queue: send, fail, retry, no duplicates.
const {install} = require('./support/wx')
const operator = require('./fixtures/operator.json')

let server
let queue
beforeEach(() => {
  jest.resetModules()
  server = install()
  queue = require('../utils/queue')
})

const check = operator.morning_check
const params = {workshop_id: 1}

test('an entry is sent at once with an Idempotency-Key when online', async () => {
  server.answer(check)
  const result = await queue.submit('morningCheck', params, check.request, {label: '晨检'})
  expect(result.sent).toBe(true)
  expect(result.answer.kind).toBe('morning_check')
  expect(server.sent).toHaveLength(1)
  expect(server.sent[0].header['Idempotency-Key']).toMatch(/^mp-/)
  expect(queue.pending()).toEqual([])
})

test('offline, the entry stays on the phone and is sent with the same key later', async () => {
  server.setOffline(true)
  const result = await queue.submit('morningCheck', params, check.request, {label: '晨检'})
  expect(result.sent).toBe(false)
  expect(queue.pending()).toHaveLength(1)
  expect(queue.pending()[0]).toMatchObject({label: '晨检', state: 'pending', attempts: 1})
  const key = server.sent[0].header['Idempotency-Key']

  await queue.flush() // still offline: nothing lost, tried again
  expect(queue.pending()[0].attempts).toBe(2)

  server.setOffline(false)
  server.answer(check)
  const done = await queue.flush()
  expect(done.sent).toHaveLength(1)
  expect(queue.pending()).toEqual([])
  const keys = server.sent.map((s) => s.header['Idempotency-Key'])
  expect(new Set(keys)).toEqual(new Set([key])) // every attempt carried the same key
})

test('two flushes at the same moment send each entry once', async () => {
  server.setOffline(true)
  await queue.submit('morningCheck', params, check.request)
  await queue.submit('cleaning', params, operator.cleaning.request)
  server.setOffline(false)
  server.sent.length = 0
  server.answer(check, operator.cleaning)
  const [a, b] = await Promise.all([queue.flush(), queue.flush()])
  expect(a).toBe(b)
  expect(server.sent.map((s) => s.path)).toEqual([
    '/workshops/1/ledgers/morning_check',
    '/workshops/1/ledgers/cleaning',
  ])
  expect(queue.pending()).toEqual([])
})

test('an entry the server refuses is marked, kept for the operator, and does not block the rest', async () => {
  server.setOffline(true)
  await queue.submit('morningCheck', params, operator.morning_check_refused.request, {label: '晨检'})
  await queue.submit('cleaning', params, operator.cleaning.request, {label: '清洗消毒'})
  server.setOffline(false)
  server.sent.length = 0
  server.answer(operator.morning_check_refused, operator.cleaning)
  const done = await queue.flush()
  expect(done.sent).toHaveLength(1)
  expect(done.refused).toHaveLength(1)
  const [refused] = queue.pending()
  expect(refused).toMatchObject({label: '晨检', state: 'refused', status: 422})
  expect(refused.error).toBe(operator.morning_check_refused.body.message)
  await queue.flush() // a refused entry is not sent again by itself
  expect(server.sent.filter((s) => s.path.endsWith('morning_check'))).toHaveLength(1)
  queue.discard(refused.id)
  expect(queue.pending()).toEqual([])
})

test('a server error keeps the entry for a retry; a refusal when sending at once is thrown', async () => {
  server.answer({...check, status: 503, body: {code: 503, status: 'Service Unavailable', error: 'unavailable', message: '服务暂时不可用。', errors: {}}})
  const kept = await queue.submit('morningCheck', params, check.request)
  expect(kept.sent).toBe(false)
  queue.discard(kept.entry.id)
  server.answer(operator.morning_check_refused)
  await expect(queue.submit('morningCheck', params, operator.morning_check_refused.request)).rejects.toMatchObject({
    status: 422,
    error: operator.morning_check_refused.body.error,
  })
  expect(queue.pending()).toEqual([])
})

test('photos taken offline are uploaded first, once each, then the entry carries their ids', async () => {
  server.setOffline(true)
  const body = {...operator.raw_acceptance.request, photos: []}
  await queue.submit('rawAcceptance', params, body, {files: ['wxfile://cert.jpg']})
  server.setOffline(false)
  server.answer(operator.upload, operator.raw_acceptance)
  await queue.flush()
  const [upload, entry] = server.sent.slice(-2)
  expect(upload.kind).toBe('upload')
  expect(upload.header['Idempotency-Key']).toMatch(/-p0$/)
  expect(entry.data.photos).toEqual([operator.upload.body.id])
  expect(queue.pending()).toEqual([])
})
