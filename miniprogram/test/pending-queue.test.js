// The pending-queue component: what waits on the phone, refusals, and its buttons.
const simulate = require('miniprogram-simulate')
const path = require('path')
const {rows} = require('../components/pending-queue/rows')

const entries = [
  {id: 'a', label: '晨检 11月26日 07:10', state: 'pending', files: [], createdAt: '2026-11-26T07:10:00+08:00'},
  {id: 'b', label: '进货查验 11月26日 08:00', state: 'refused', error: '陈阿明 的健康证已于 2026-11-23 过期', files: ['wxfile://a.jpg', 'wxfile://b.jpg']},
]

test('rows word each state in Chinese', () => {
  expect(rows(entries)).toMatchObject([
    {id: 'a', refused: false, state: '等待联网发送', photos: 0},
    {id: 'b', refused: true, state: '被退回，请修改后重新填写', photos: 2},
  ])
})

test('renders nothing when empty, the entries and buttons otherwise, and raises events', () => {
  const id = simulate.load(path.join(__dirname, '..', 'components', 'pending-queue', 'index'))
  const comp = simulate.render(id, {entries: []})
  comp.attach(document.createElement('parent-wrapper'))
  expect(comp.dom.textContent.trim()).toBe('')
  comp.setData({entries})
  const shown = comp.dom.textContent.replace(/\s+/g, '')
  expect(shown).toContain('还有2条记录没有发送')
  expect(shown).toContain('（2张照片）')
  expect(shown).toContain('健康证已于2026-11-23过期')
  const send = jest.fn()
  const discard = jest.fn()
  comp.addEventListener('send', send)
  comp.addEventListener('discard', discard)
  comp.querySelector('.queue-btn').dispatchEvent('tap')
  comp.querySelector('.queue-discard').dispatchEvent('tap')
  return simulate.sleep(10).then(() => {
    expect(send).toHaveBeenCalled()
    expect(discard.mock.calls[0][0].detail).toEqual({id: 'b'})
  })
})
