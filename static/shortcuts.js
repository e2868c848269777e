// Keyboard shortcuts of the signed-in pages (the list: components/shortcuts.py, docs/accessibility.md).
// Targets carry a data-shortcut attribute: search, new-chat, stop, composer, help.
(() => {
  const find = (name) => document.querySelector(`[data-shortcut="${name}"]`);
  const field = (el) => (el.matches('input, textarea') ? el : el.querySelector('input, textarea'));
  const shown = (el) => el && el.offsetParent !== null;
  const typing = (el) => el.closest('input, textarea, select, [contenteditable="true"]');
  const dialogOpen = () => document.querySelector('.q-dialog, .q-menu') !== null;

  // Another page has no conversation search or New chat button: go to the chat page, which
  // acts on arrival (/chat#search, /chat#new-chat).
  const act = {
    search: (el) => { const input = field(el); input.focus(); input.select(); },
    'new-chat': (el) => el.click(),
  };
  const run = (name) => {
    const el = find(name);
    if (shown(el)) act[name](el);
    else window.location.href = `/chat#${name}`;
  };
  const arrival = window.location.hash.slice(1);
  if (arrival in act) {
    history.replaceState(null, '', window.location.pathname + window.location.search);
    const started = Date.now();
    const wait = () => {
      const el = find(arrival);
      if (shown(el)) act[arrival](el);
      else if (Date.now() - started < 10000) setTimeout(wait, 100);
    };
    window.addEventListener('load', wait);
  }

  document.addEventListener('keydown', (event) => {
    // A key the focused element already acted on is not a shortcut too: Escape that closes
    // the composer's prompt list must not also stop the reply streaming meanwhile.
    if (event.defaultPrevented) return;
    const key = event.key;
    const mod = event.ctrlKey || event.metaKey;
    if (mod && !event.shiftKey && !event.altKey && key.toLowerCase() === 'k') {
      event.preventDefault();
      run('search');
    } else if (event.ctrlKey && event.shiftKey && !event.altKey && key.toLowerCase() === 'o') {
      event.preventDefault();
      run('new-chat');
    } else if (key === 'Escape' && !dialogOpen()) {
      const stop = find('stop');
      if (shown(stop)) { event.preventDefault(); stop.click(); }
    } else if (key === 'ArrowUp' && !mod && !event.shiftKey && !event.altKey
               && event.target.closest('[data-shortcut="composer"]')
               && event.target.value === '') {
      const edits = document.querySelectorAll('button[aria-label="Edit message"]');
      if (edits.length) { event.preventDefault(); edits[edits.length - 1].click(); }
    } else if (key === '?' && !mod && !event.altKey && !typing(event.target) && !dialogOpen()) {
      const help = find('help');
      if (help) { event.preventDefault(); help.click(); }
    }
  });
})();
