// Small helpers shared by the pages: times with the phone's offset, and the Chinese labels
// of the API's enumerations (verdicts, states, outcomes).
function pad(n) {
  return String(n).padStart(2, '0')
}

// "2026-11-26T09:00:00+08:00": the phone's clock with its offset, as the API wants it.
function isoNow(date = new Date()) {
  const offset = -date.getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  const abs = Math.abs(offset)
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

// "2026-11-26T09:05:00+08:00" → "11月26日 09:05" (read from the text, as the server wrote it).
function shortTime(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(String(iso || ''))
  if (!m) return ''
  const day = `${Number(m[2])}月${Number(m[3])}日`
  return m[4] ? `${day} ${m[4]}:${m[5]}` : day
}

const VERDICTS = {
  pass: {text: '合格', tone: 'good'},
  fail: {text: '不合格', tone: 'bad'},
  positive_screen: {text: '快检阳性，待复检', tone: 'bad'},
  pending: {text: '待判定', tone: 'muted'},
}

const BATCH_STATES = {
  in_production: '生产中',
  pending_release: '待放行',
  released: '已放行',
  held: '暂停销售',
  recalled: '已召回',
}

const OUTCOMES = {
  satisfactory: {text: '符合', tone: 'good'},
  rectify: {text: '基本符合，限期整改', tone: 'warn'},
  unsatisfactory: {text: '不符合', tone: 'bad'},
}

const SAMPLE_KINDS = {rapid: '快检', lab: '实验室检测', self_check: '自检'}

const QUALITATIVE = {negative: '阴性', positive: '阳性'}

function verdict(value) {
  return VERDICTS[value] || {text: value || '', tone: 'muted'}
}

module.exports = {isoNow, shortTime, verdict, BATCH_STATES, OUTCOMES, SAMPLE_KINDS, QUALITATIVE}
