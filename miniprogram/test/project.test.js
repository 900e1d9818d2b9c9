// The project as WeChat's developer tools open it: every page in app.json exists with its
// four files, components are declared where used, the AppID is left for the owner to fill.
const fs = require('fs')
const path = require('path')

const ROOT = path.join(__dirname, '..')
const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
const project = JSON.parse(fs.readFileSync(path.join(ROOT, 'project.config.json'), 'utf8'))

test.each(app.pages)('%s has its js, wxml, wxss and json', (page) => {
  ;['js', 'wxml', 'wxss', 'json'].forEach((ext) => {
    expect(fs.existsSync(path.join(ROOT, `${page}.${ext}`))).toBe(true)
  })
  const json = JSON.parse(fs.readFileSync(path.join(ROOT, `${page}.json`), 'utf8'))
  expect(json.navigationBarTitleText).toMatch(/[\u4e00-\u9fff]/) // Chinese first
  const using = {...app.usingComponents, ...(json.usingComponents || {})}
  const wxml = fs.readFileSync(path.join(ROOT, `${page}.wxml`), 'utf8')
  const tags = new Set((wxml.match(/<([a-z][a-z0-9]*-[a-z0-9-]+)/g) || []).map((t) => t.slice(1)))
  tags.forEach((tag) => expect(using[tag]).toBeDefined())
  Object.values(using).forEach((p) => expect(fs.existsSync(path.join(ROOT, `${p}.js`))).toBe(true))
})

test('the first page is the home page and the scan page is listed for QR links', () => {
  expect(app.pages[0]).toBe('pages/home/index')
  expect(app.pages).toContain('pages/scan/index')
})

test('project.config.json: AppID left empty, tests and node_modules not uploaded', () => {
  expect(project.appid).toBe('')
  expect(project.compileType).toBe('miniprogram')
  const ignored = project.packOptions.ignore.map((i) => i.value)
  expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'test']))
})

test('the API base URL lives in config.js only', () => {
  const files = []
  const walk = (dir) => fs.readdirSync(dir).forEach((name) => {
    const full = path.join(dir, name)
    if (['node_modules', 'test'].includes(name)) return
    if (fs.statSync(full).isDirectory()) walk(full)
    else if (/\.(js|wxml)$/.test(name) && name !== 'config.js') files.push(full)
  })
  walk(ROOT)
  files.forEach((file) => expect(fs.readFileSync(file, 'utf8')).not.toMatch(/https?:\/\/[a-z0-9.-]+\.(cn|com|test)\//i))
})
