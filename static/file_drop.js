// Quasar's uploader renders its <input type=file> with an empty title and no label: name it
// after the uploader's visible label so screen readers (and axe-core) know what it picks.
(() => {
  const name = () => {
    for (const input of document.querySelectorAll('.q-uploader__input:not([aria-label])')) {
      const title = input.closest('.q-uploader')?.querySelector('.q-uploader__title');
      input.setAttribute('aria-label', title?.textContent.trim() || 'Choose files');
    }
  };
  new MutationObserver(name).observe(document.documentElement, {childList: true, subtree: true});
})();
