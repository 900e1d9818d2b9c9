// The one place that says where the API lives. Production: the HTTPS host listed under
// "request domains" (request 合法域名) in the mini-program's admin console.
module.exports = {
  apiBase: 'https://yipin.example.cn/api/v1',
  // How many entries the offline queue keeps at most (oldest are never dropped silently:
  // past this the form refuses to save and asks to go online).
  queueLimit: 200,
  requestTimeout: 15000,
}
