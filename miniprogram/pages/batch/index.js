Page(require('./logic').page)
