// Composer attachments: one XHR per picked, pasted or dropped file to the hidden `ui.upload`
// endpoint `url`, with progress; each step goes back to the server as the event `eventName`.
window.chatAttach = window.chatAttach || {
  send(url, eventName, files) {
    for (const file of Array.from(files || [])) {
      const key = 'local-' + Math.random().toString(36).slice(2) + Date.now().toString(36);
      const name = file.name || 'pasted-image.png';
      emitEvent(eventName, {kind: 'start', key, name, size: file.size});
      const xhr = new XMLHttpRequest();
      let last = 0;
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        const done = e.loaded / e.total;
        const bar = document.querySelector(`[data-attach-key="${key}"] .attach-progress`);
        if (bar) bar.style.width = Math.round(done * 100) + '%';
        const now = Date.now();
        if (now - last > 250 || done === 1) {
          last = now;
          emitEvent(eventName, {kind: 'progress', key, done});
        }
      };
      xhr.onerror = () => emitEvent(eventName, {kind: 'failed', key});
      xhr.onload = () => { if (xhr.status >= 300) emitEvent(eventName, {kind: 'failed', key}); };
      xhr.open('POST', (window.path_prefix || '') + url);
      const form = new FormData();
      form.append('file', file, name);
      xhr.send(form);
    }
  },
  // A file input's change: send what was picked, then clear it so the same file can come again.
  picked(event, url, eventName) {
    this.send(url, eventName, event.target.files);
    event.target.value = '';
  },
  // Pasted images; plain pasted text goes into the message box as usual.
  paste(event, url, eventName) {
    const files = Array.from((event.clipboardData || {}).files || []);
    if (files.length) {
      event.preventDefault();
      this.send(url, eventName, files);
    }
  },
  dragOver(event) {
    event.preventDefault();
    event.currentTarget.classList.add('drop-over');
  },
  dragLeave(event) {
    event.currentTarget.classList.remove('drop-over');
  },
  drop(event, url, eventName) {
    event.preventDefault();
    event.currentTarget.classList.remove('drop-over');
    this.send(url, eventName, event.dataTransfer.files);
  },
};
