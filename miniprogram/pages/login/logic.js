// WeChat login (wx.login → POST /auth/wechat/login) and binding to a workshop with the
// invite code a regulator gave (POST /invites/redeem). Operators then go to today's
// checklist; inspectors and regulators to the sampling page.
const api = require('../../utils/api')
const store = require('../../utils/store')
const {refusal, valueOf} = require('../../utils/form')

// What a person types: spaces and dashes go, letters are upper-cased (the server does too).
function cleanInvite(text) {
  return String(text || '').replace(/[\s-]+/g, '').toUpperCase()
}

// Where a logged-in user goes: null while an operator still needs an invite code.
function destination(user) {
  if (!user) return null
  if (user.role === 'inspector' || user.role === 'regulator') return '/pages/inspector/index'
  if ((user.workshops || []).length) return '/pages/today/index'
  return null
}

function remember(user) {
  store.set(store.KEYS.profile, user)
  const workshops = user.workshops || []
  const current = store.get(store.KEYS.workshop, null)
  if (workshops.length && !workshops.some((w) => current && w.id === current.id)) {
    store.set(store.KEYS.workshop, workshops[0])
  }
}

const page = {
  data: {step: 'login', busy: false, error: '', errors: {}, invite: '', name: ''},

  onLoad() {
    const profile = store.get(store.KEYS.profile, null)
    if (api.token() && profile) this.route(profile)
  },

  route(user) {
    const next = destination(user)
    if (next) {
      wx.reLaunch({url: next})
      return
    }
    this.setData({step: 'invite', name: user.display_name || ''})
  },

  login() {
    if (this.data.busy) return Promise.resolve()
    this.setData({busy: true, error: ''})
    return api.login().then(
      (result) => {
        remember(result.user)
        this.setData({busy: false})
        this.route(result.user)
      },
      (err) => this.setData({busy: false, error: err.message}),
    )
  },

  onInvite(event) {
    this.setData({invite: valueOf(event), errors: {}, error: ''})
  },

  redeem() {
    const code = cleanInvite(this.data.invite)
    if (code.length !== 8) {
      this.setData({errors: {code: '邀请码是 8 位字母和数字'}})
      return Promise.resolve()
    }
    this.setData({busy: true, error: '', errors: {}})
    return api.call('redeemInvite', {}, {code})
      .then((bound) => api.call('me').then((me) => {
        remember(me)
        store.set(store.KEYS.workshop, bound.workshop)
        this.setData({busy: false})
        wx.showToast({title: `已绑定${bound.workshop.name}`, icon: 'success'})
        this.route(me)
      }))
      .catch((err) => {
        const r = refusal(err)
        this.setData({busy: false, error: r.message, errors: r.fields})
      })
  },

  logout() {
    api.clearSession()
    store.remove(store.KEYS.workshop)
    this.setData({step: 'login', invite: '', error: '', errors: {}})
  },
}

module.exports = {page, cleanInvite, destination}
