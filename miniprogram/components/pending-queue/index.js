// The offline queue as the operator sees it: what is still on the phone, what the server
// sent back (with its reason), and buttons to send again or throw a refused entry away.
const {rows} = require('./rows')

const definition = {
  properties: {
    entries: {type: Array, value: []},
  },
  data: {rows: []},
  observers: {
    entries(entries) {
      this.setData({rows: rows(entries)})
    },
  },
  methods: {
    sendNow() {
      this.triggerEvent('send')
    },
    discard(event) {
      this.triggerEvent('discard', {id: event.currentTarget.dataset.id})
    },
  },
}

if (typeof Component === 'function') Component(definition)

module.exports = {definition}
