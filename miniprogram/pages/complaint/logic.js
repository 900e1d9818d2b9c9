// Complaint form reached from the scan page: POST /complaints (channel miniprogram).
const api = require('../../utils/api')
const {refusal, valueOf} = require('../../utils/form')

const page = {
  data: {code: '', content: '', contact_name: '', contact_phone: '', sending: false, error: '', errors: {}, reference: ''},

  onLoad(options) {
    this.setData({code: decodeURIComponent((options && options.code) || '')})
  },

  onInput(event) {
    const field = event.currentTarget.dataset.field
    this.setData({[field]: valueOf(event), [`errors.${field}`]: ''})
  },

  submit() {
    if (this.data.sending) return Promise.resolve()
    const d = this.data
    this.setData({sending: true, error: '', errors: {}})
    const body = {content: d.content.trim(), code: d.code || undefined, contact_name: d.contact_name.trim() || undefined, contact_phone: d.contact_phone.trim() || undefined}
    return api.call('fileComplaint', {}, body).then(
      (filed) => this.setData({sending: false, reference: filed.reference}),
      (err) => {
        const r = refusal(err)
        this.setData({sending: false, error: r.message, errors: r.fields})
      },
    )
  },

  back() {
    wx.navigateBack({delta: 1})
  },
}

module.exports = {page}
