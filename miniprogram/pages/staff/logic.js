// Where the health-certificate reminder (REMINDER_CERT_PAGE, ?staff_id=) lands: what to do
// about an expiring certificate, and the way to today's checklist.
const page = {
  data: {staffId: ''},

  onLoad(options) {
    this.setData({staffId: (options && options.staff_id) || ''})
  },

  today() {
    wx.reLaunch({url: '/pages/today/index'})
  },
}

module.exports = {page}
