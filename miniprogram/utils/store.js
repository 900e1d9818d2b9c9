// Small wrapper around wx storage, so tests and pages share one place for keys.
const KEYS = {
  token: 'yipin.token',
  profile: 'yipin.profile',
  workshop: 'yipin.workshop',
  queue: 'yipin.queue',
}

function get(key, fallback) {
  try {
    const value = wx.getStorageSync(key)
    return value === '' || value === undefined || value === null ? fallback : value
  } catch (e) {
    return fallback
  }
}

function set(key, value) {
  wx.setStorageSync(key, value)
}

function remove(key) {
  wx.removeStorageSync(key)
}

module.exports = {KEYS, get, set, remove}
