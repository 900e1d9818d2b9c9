// Render a page (its index.wxml) with miniprogram-simulate and drive its logic module:
// the Page definition's functions become the component's methods, its data the data.
const fs = require('fs')
const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.join(__dirname, '..', '..')

function component(name) {
  return simulate.load(path.join(ROOT, 'components', name, 'index'))
}

// loadPage('scan') → the rendered component; its .instance is the page (`this` of the logic).
function loadPage(name, {usingComponents = {}} = {}) {
  const {page} = require(path.join(ROOT, 'pages', name, 'logic'))
  const template = fs.readFileSync(path.join(ROOT, 'pages', name, 'index.wxml'), 'utf8')
  const methods = {}
  Object.keys(page).forEach((key) => {
    if (typeof page[key] === 'function') methods[key] = page[key]
  })
  const using = {}
  Object.keys(usingComponents).forEach((tag) => {
    using[tag] = component(usingComponents[tag])
  })
  const id = simulate.load({template, data: JSON.parse(JSON.stringify(page.data || {})), methods, usingComponents: using})
  const comp = simulate.render(id)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

// All text of the rendered page (or of one element of it), spaces squeezed.
function text(comp, selector) {
  const node = selector ? comp.querySelector(selector) : comp
  if (!node) return ''
  return node.dom.textContent.replace(/\s+/g, ' ').trim()
}

// Wait for the recorded answers (they arrive on timers) and the promises after them.
function settle() {
  return new Promise((resolve) => setTimeout(resolve, 5)).then(() => new Promise((resolve) => setTimeout(resolve, 5)))
}

module.exports = {loadPage, component, text, settle}
