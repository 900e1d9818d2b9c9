// The mini-program's start: send what the offline queue holds whenever the network returns
// (and when the app comes back to the front), for a logged-in operator.
const api = require('./utils/api')
const queue = require('./utils/queue')

// Try to send the queue; quiet when offline (the entries stay and are shown as pending).
function sendPending() {
  if (!api.token()) return Promise.resolve(null)
  return queue.flush().catch(() => null)
}

const app = {
  onLaunch() {
    wx.onNetworkStatusChange((res) => {
      if (res.isConnected) sendPending()
    })
  },
  onShow() {
    sendPending()
  },
  sendPending,
}

if (typeof App === 'function') App(app)

module.exports = app
