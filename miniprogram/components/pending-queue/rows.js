// The offline queue's entries → the rows the pending-queue component shows.

// Queue entries → rows for the list.
function rows(entries) {
  return (entries || []).map((e) => ({
    id: e.id,
    label: e.label || '记录',
    refused: e.state === 'refused',
    state: e.state === 'refused' ? '被退回，请修改后重新填写' : '等待联网发送',
    error: e.error || '',
    photos: (e.files || []).length,
  }))
}

module.exports = {rows}
