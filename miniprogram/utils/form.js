// Showing an API refusal on a form: the message at the top, each field's text beside it.
// Field keys are flattened paths ("content", "checks.0.temperature", "inputs.0.quantity").
const FIELD_TEXTS = {
  'Length must be between 1 and 2000.': '请填写内容（最多 2000 字）',
  'Missing data for required field.': '必填',
  'Not a valid number.': '请填写数字',
  'Not a valid integer.': '请填写整数',
  'Field may not be null.': '必填',
}

function refusal(err) {
  const fields = {}
  const raw = err && typeof err.fieldMessages === 'function' ? err.fieldMessages() : {}
  Object.keys(raw).forEach((key) => {
    fields[key] = FIELD_TEXTS[raw[key]] || raw[key]
  })
  return {message: (err && err.message) || '提交失败，请稍后再试', fields}
}

// The value of an input event, whatever component sent it.
function valueOf(event) {
  return event && event.detail ? event.detail.value : undefined
}

module.exports = {refusal, valueOf}
