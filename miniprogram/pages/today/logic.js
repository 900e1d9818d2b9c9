// Today's checklist of the operator's workshop (GET /workshops/<id>/today), the entries
// still waiting on the phone (the offline queue), and the doors to each ledger form.
const api = require('../../utils/api')
const store = require('../../utils/store')
const queue = require('../../utils/queue')

const TODAY_KEY = 'yipin.today' // the last checklist, for the forms when offline

// The forms an operator can open from here, in the order of a working day.
const FORMS = [
  {kind: 'morning_check', name: '晨检'},
  {kind: 'raw_acceptance', name: '进货查验'},
  {kind: 'production', name: '生产记录'},
  {kind: 'additive_use', name: '添加剂使用'},
  {kind: 'cleaning', name: '清洗消毒'},
  {kind: 'sale', name: '销售记录'},
]

// The checklist answer → rows (one per kind; a kind with subjects counts its people).
function checklist(today) {
  const byKind = {}
  ;(today.items || []).forEach((item) => {
    const row = byKind[item.kind] || (byKind[item.kind] = {kind: item.kind, name: item.kind_name, done: 0, total: 0, missing: []})
    row.total += 1
    if (item.done) row.done += 1
    else if (item.subject) row.missing.push(item.subject)
  })
  return Object.keys(byKind).map((kind) => {
    const row = byKind[kind]
    return {...row, complete: row.done === row.total, missingText: row.missing.length ? `还差：${row.missing.join('、')}` : ''}
  })
}

const page = {
  data: {workshop: null, loading: false, error: '', rows: [], summary: '', complete: false, queue: [], forms: FORMS},

  // A reminder message opens this page with ?workshop_id=&date=: switch to that workshop
  // when it is one of the operator's.
  onLoad(options) {
    const wanted = Number((options || {}).workshop_id)
    const profile = store.get(store.KEYS.profile, null)
    const match = wanted && profile && (profile.workshops || []).find((w) => w.id === wanted)
    if (match) store.set(store.KEYS.workshop, match)
    this.unsubscribe = queue.onChange((entries) => this.setData({queue: entries}))
  },

  onUnload() {
    if (this.unsubscribe) this.unsubscribe()
  },

  onShow() {
    const workshop = store.get(store.KEYS.workshop, null)
    if (!api.token() || !workshop) {
      wx.reLaunch({url: '/pages/login/index'})
      return Promise.resolve()
    }
    this.setData({workshop, queue: queue.pending()})
    return this.refresh()
  },

  onPullDownRefresh() {
    return this.sendPending().then(() => wx.stopPullDownRefresh && wx.stopPullDownRefresh())
  },

  refresh() {
    this.setData({loading: true, error: ''})
    return api.call('today', {workshop_id: this.data.workshop.id}, {}).then(
      (today) => {
        store.set(TODAY_KEY, today)
        this.setData({
          loading: false,
          rows: checklist(today),
          complete: today.complete,
          summary: today.complete ? '今天的台账都记好了' : `今天已完成 ${today.done} / ${today.total} 项`,
        })
      },
      (err) => {
        if (err.status === 401 || err.status === 403) {
          wx.reLaunch({url: '/pages/login/index'})
        }
        const last = store.get(TODAY_KEY, null)
        this.setData({
          loading: false,
          error: err.network ? '现在没有网络。记录会先存在手机上，联网后自动发送。' : err.message,
          rows: last ? checklist(last) : [],
        })
      },
    )
  },

  // Send what waits in the queue, then read the checklist again.
  sendPending() {
    return queue.flush().then((r) => {
      this.setData({queue: queue.pending()})
      if (r.sent.length) wx.showToast({title: `已发送 ${r.sent.length} 条`, icon: 'success'})
      return this.refresh()
    })
  },

  discardPending(event) {
    queue.discard(event.detail.id)
    this.setData({queue: queue.pending()})
  },

  openForm(event) {
    wx.navigateTo({url: `/pages/ledger/index?kind=${event.currentTarget.dataset.kind}`})
  },

  openBatch() {
    wx.navigateTo({url: '/pages/batch/index'})
  },
}

module.exports = {page, checklist, FORMS, TODAY_KEY}
