// The offline queue: ledger entries and other writes made without a network stay on the
// phone and are sent, in order, when the network returns.
//
// Each entry keeps its Idempotency-Key from the moment it is saved, so a send that reached
// the server but whose answer was lost is answered with the first result on the retry and
// is never recorded twice. Photos are kept as local files and uploaded first (each with a
// key of its own), then the entry is sent with their ids.
const api = require('./api')
const store = require('./store')
const config = require('../config')

let flushing = null
const listeners = []

function all() {
  return store.get(store.KEYS.queue, [])
}

function save(entries) {
  store.set(store.KEYS.queue, entries)
  listeners.forEach((fn) => fn(entries))
}

function update(id, changes) {
  save(all().map((e) => (e.id === id ? {...e, ...changes} : e)))
}

// What is still waiting (pending: will be retried; refused: the server said no, fix it).
function pending() {
  return all()
}

function onChange(fn) {
  listeners.push(fn)
  return () => listeners.splice(listeners.indexOf(fn), 1)
}

// Keep a write for sending: op is an api operation name, files are local photo paths.
function enqueue(op, params, body, {label = '', files = []} = {}) {
  const entries = all()
  if (entries.length >= config.queueLimit) {
    throw new api.ApiError({error: 'queue_full', message: '待发送的记录太多，请先连上网络发送'})
  }
  const entry = {
    id: api.newKey(),
    op,
    params,
    body,
    files,
    uploaded: [],
    label,
    state: 'pending',
    attempts: 0,
    error: '',
    createdAt: new Date().toISOString(),
  }
  save(entries.concat([entry]))
  return entry
}

function sendOne(entry) {
  const uploads = entry.files.slice(entry.uploaded.length)
  let chain = Promise.resolve(entry.uploaded.slice())
  uploads.forEach((filePath, i) => {
    const index = entry.uploaded.length + i
    chain = chain.then((ids) => api.call('upload', {}, {filePath}, {idempotencyKey: `${entry.id}-p${index}`})
      .then((file) => {
        const done = ids.concat([file.id])
        update(entry.id, {uploaded: done})
        return done
      }))
  })
  return chain.then((ids) => {
    const body = entry.files.length ? {...entry.body, photos: (entry.body.photos || []).concat(ids)} : entry.body
    return api.call(entry.op, entry.params, body, {idempotencyKey: entry.id})
  })
}

// Send what is waiting, oldest first. Stops at the first network failure (the rest waits
// for the network); an entry the server refuses (4xx) is marked refused and skipped, so
// one bad entry does not block the others. Only one flush runs at a time.
function flush() {
  if (flushing) return flushing
  const results = {sent: [], refused: [], waiting: 0}
  const next = () => {
    const entry = all().find((e) => e.state === 'pending' && !results.sent.includes(e.id) && !results.refused.includes(e.id))
    if (!entry) return Promise.resolve(results)
    update(entry.id, {attempts: entry.attempts + 1})
    return sendOne(entry).then(
      (answer) => {
        save(all().filter((e) => e.id !== entry.id))
        results.sent.push(entry.id)
        results.answers = {...(results.answers || {}), [entry.id]: answer}
        return next()
      },
      (err) => {
        const retry = err.network || err.status >= 500 || err.status === 429 || err.status === 401
        if (retry) {
          update(entry.id, {error: err.message})
          results.waiting = all().filter((e) => e.state === 'pending').length
          return results
        }
        update(entry.id, {
          state: 'refused',
          error: err.message,
          status: err.status,
          slug: err.error,
          errors: err.errors || {},
        })
        results.refused.push(entry.id)
        return next()
      },
    )
  }
  flushing = next().then((r) => {
    flushing = null
    return r
  }, (e) => {
    flushing = null
    throw e
  })
  return flushing
}

// Save and try to send at once. Resolves {sent: true, answer} or {sent: false, entry}
// (kept for later); rejects with the ApiError when the server refuses it.
function submit(op, params, body, options) {
  const entry = enqueue(op, params, body, options)
  return flush().then((results) => {
    if (results.sent.includes(entry.id)) return {sent: true, answer: results.answers[entry.id]}
    const kept = all().find((e) => e.id === entry.id)
    if (kept && kept.state === 'refused') {
      save(all().filter((e) => e.id !== entry.id)) // shown on the form, not left in the queue
      throw new api.ApiError({status: kept.status, error: kept.slug, message: kept.error, errors: kept.errors})
    }
    return {sent: false, entry: kept}
  })
}

function discard(id) {
  save(all().filter((e) => e.id !== id))
}

function retry(id) {
  update(id, {state: 'pending', error: ''})
  return flush()
}

module.exports = {enqueue, flush, submit, pending, discard, retry, onChange}
