// A stand-in for the parts of `wx` the mini-program uses, answering API requests with the
// recorded answers in test/fixtures (produced by the server's own test suite).
const config = require('../../config')

function templateRegex(operation) {
  const [method, path] = operation.split(' ')
  const pattern = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/?]+').replace(/\{\w+\}/g, '[^/?]+')
  return {method, regex: new RegExp(`^${pattern}(\\?.*)?$`)}
}

function install() {
  const storage = {}
  const answers = []
  const sent = []
  let offline = false
  const wx = global.wx || {}
  Object.assign(wx, {
    getStorageSync: (k) => (k in storage ? JSON.parse(storage[k]) : ''),
    setStorageSync: (k, v) => {
      storage[k] = JSON.stringify(v)
    },
    removeStorageSync: (k) => {
      delete storage[k]
    },
    login: ({success}) => success({code: 'lin-morning'}),
    showToast: jest.fn(),
    showModal: jest.fn(({success}) => success && success({confirm: true})),
    navigateTo: jest.fn(),
    redirectTo: jest.fn(),
    reLaunch: jest.fn(),
    setNavigationBarTitle: jest.fn(),
    scanCode: jest.fn(),
    chooseMedia: jest.fn(),
    downloadFile: jest.fn(),
    openDocument: jest.fn(),
    onNetworkStatusChange: jest.fn(),
    requestSubscribeMessage: jest.fn(),
    makePhoneCall: jest.fn(),
  })
  const handle = (kind, opts) => {
    const path = opts.url.slice(config.apiBase.length)
    const record = {kind, method: opts.method || 'POST', path, data: opts.data, header: opts.header, filePath: opts.filePath}
    sent.push(record)
    if (offline) {
      setTimeout(() => opts.fail({errMsg: 'request:fail'}), 0)
      return
    }
    const index = answers.findIndex((a) => a.method === record.method && a.regex.test('/api/v1' + path))
    if (index < 0) {
      setTimeout(() => opts.fail({errMsg: `no recorded answer for ${record.method} ${path}`}), 0)
      return
    }
    const [answer] = answers.splice(index, 1)
    const data = kind === 'upload' ? JSON.stringify(answer.body) : answer.body
    setTimeout(() => opts.success({statusCode: answer.status, data}), 0)
  }
  wx.request = jest.fn((opts) => handle('request', opts))
  wx.uploadFile = jest.fn((opts) => handle('upload', opts))
  global.wx = wx
  return {
    wx,
    sent,
    storage,
    // Answer the next matching request with this recorded call ({operation, status, body}).
    answer(...recorded) {
      recorded.forEach((r) => answers.push({...templateRegex(r.operation), status: r.status, body: r.body}))
    },
    setOffline(value) {
      offline = value
    },
    unanswered: () => answers,
  }
}

module.exports = {install}
