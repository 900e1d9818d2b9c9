// The error shape: what utils/api.js reads from a refusal ({error, message, errors}) is in
// the documented Error schema, and every recorded refusal has exactly the documented keys.
const openapi = require('./fixtures/openapi.json')
const fixtures = {...require('./fixtures/consumer.json'), ...require('./fixtures/operator.json'), ...require('./fixtures/inspector.json')}
const api = require('../utils/api')

const schema = openapi.components.schemas.Error

test('the client reads only documented keys of an error body', () => {
  ;['error', 'message', 'errors'].forEach((key) => expect(Object.keys(schema.properties)).toContain(key))
})

const refusals = Object.entries(fixtures).filter(([, f]) => f.status >= 400)

test.each(refusals)('%s: a recorded refusal has the documented keys and becomes an ApiError', (name, recorded) => {
  expect(Object.keys(recorded.body).sort()).toEqual(Object.keys(schema.properties).sort())
  const err = new api.ApiError({status: recorded.status, error: recorded.body.error, message: recorded.body.message, errors: recorded.body.errors})
  expect(err.error).toBe(recorded.body.error)
  expect(err.message).toMatch(/[\u4e00-\u9fff]/) // a sentence for people, in Chinese
})
