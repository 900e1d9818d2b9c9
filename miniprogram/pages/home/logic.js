// The first page: three big doors (consumers scan, operators keep ledgers, inspectors test).
const api = require('../../utils/api')
const store = require('../../utils/store')
const entry = require('../../utils/entry')

const page = {
  data: {},

  scan() {
    wx.scanCode({
      scanType: ['qrCode', 'barCode', 'datamatrix'],
      success: (res) => {
        const found = entry.fromScanResult(res.result)
        if (found.error) {
          wx.showToast({title: '不是一品一码的追溯码', icon: 'none'})
          return
        }
        wx.navigateTo({url: `/pages/scan/index?code=${encodeURIComponent(found.code)}`})
      },
    })
  },

  // Operators go to today's checklist when logged in and bound, else to the login page.
  operator() {
    const profile = store.get(store.KEYS.profile, null)
    const bound = api.token() && profile && profile.role === 'operator' && (profile.workshops || []).length
    wx.navigateTo({url: bound ? '/pages/today/index' : '/pages/login/index'})
  },

  inspector() {
    const profile = store.get(store.KEYS.profile, null)
    const ok = api.token() && profile && ['inspector', 'regulator'].includes(profile.role)
    wx.navigateTo({url: ok ? '/pages/inspector/index' : '/pages/login/index?next=inspector'})
  },

  onShareAppMessage() {
    return {title: '一品一码：扫码查看食品来源', path: '/pages/home/index'}
  },
}

module.exports = {page}
