// The contract: every field the API client sends or reads must be documented in
// /api/v1/openapi.json (written from the app by tests/miniprogram/test_fixtures.py).
const {OPERATIONS} = require('../utils/api')
const openapi = require('./fixtures/openapi.json')

const PREFIX = '/api/v1'

function resolve(schema) {
  let s = schema || {}
  for (let i = 0; i < 20; i++) {
    if (s.$ref) {
      s = openapi.components.schemas[s.$ref.split('/').pop()]
    } else if (s.allOf && s.allOf.length === 1 && !s.properties) {
      s = s.allOf[0]
    } else {
      return s
    }
  }
  return s
}

// Does `path` ("a.b[].c") exist in schema? Returns the missing part, or '' when documented.
function missing(schema, path) {
  const parts = path.split('.')
  let s = resolve(schema)
  for (let i = 0; i < parts.length; i++) {
    const list = parts[i].endsWith('[]')
    const name = list ? parts[i].slice(0, -2) : parts[i]
    if (!s.properties) {
      // A free-form object (additionalProperties) documents no fields to check further.
      if (s.type === 'object' && s.additionalProperties !== false) return ''
      return parts.slice(0, i + 1).join('.')
    }
    if (!(name in s.properties)) return parts.slice(0, i + 1).join('.')
    s = resolve(s.properties[name])
    if (list) {
      if (s.type !== 'array') return `${parts.slice(0, i + 1).join('.')} (not a list)`
      s = resolve(s.items)
    }
  }
  return ''
}

function operation(op) {
  const item = openapi.paths[PREFIX + op.path]
  return item && item[op.method.toLowerCase()]
}

function successSchema(documented) {
  const codes = Object.keys(documented.responses).filter((c) => /^2/.test(c)).sort()
  const content = documented.responses[codes[0]].content || {}
  return content['application/json'] && content['application/json'].schema
}

describe('every operation of the API client is documented', () => {
  Object.keys(OPERATIONS).forEach((name) => {
    const op = OPERATIONS[name]

    test(`${name}: ${op.method} ${op.path} exists`, () => {
      expect(operation(op)).toBeDefined()
    })

    test(`${name}: the fields it sends are documented`, () => {
      const documented = operation(op)
      if (op.method === 'GET') {
        const names = (documented.parameters || []).filter((p) => p.in === 'query').map((p) => p.name)
        ;(op.sends || []).forEach((field) => expect(names).toContain(field))
        return
      }
      if (op.multipart) {
        const schema = resolve(documented.requestBody.content['multipart/form-data'].schema)
        expect(Object.keys(schema.properties)).toContain(op.multipart)
        return
      }
      const body = documented.requestBody
      if (!op.sends || op.sends.length === 0) return
      expect(body).toBeDefined()
      const schema = body.content['application/json'].schema
      const undocumented = op.sends.map((f) => missing(schema, f)).filter(Boolean)
      expect(undocumented).toEqual([])
    })

    test(`${name}: the fields it reads are documented`, () => {
      const schema = successSchema(operation(op))
      expect(schema).toBeDefined()
      const undocumented = (op.reads || []).map((f) => missing(schema, f)).filter(Boolean)
      expect(undocumented).toEqual([])
    })

    test(`${name}: path parameters are the documented ones`, () => {
      const documented = operation(op)
      const inPath = (op.path.match(/\{\w+\}/g) || []).map((p) => p.slice(1, -1)).sort()
      const params = (openapi.paths[PREFIX + op.path].parameters || [])
        .concat(documented.parameters || [])
        .filter((p) => p.in === 'path')
        .map((p) => p.name)
        .sort()
      expect(params).toEqual(inPath)
    })
  })
})

describe('the contract check itself', () => {
  test('an undocumented field is caught', () => {
    const schema = successSchema(operation(OPERATIONS.me))
    expect(missing(schema, 'display_name')).toBe('')
    expect(missing(schema, 'nickname')).toBe('nickname')
    expect(missing(schema, 'workshops[].licence')).toBe('workshops[].licence')
  })
})
