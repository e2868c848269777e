// Quasar's uploader renders its <input type=file> with an empty title and no label, inside its
// "add" button: name it after the uploader's visible label so screen readers (and axe-core)
// know what it picks, and take it out of the tab order (the button is the control: Enter on it
// opens the same picker), so no focusable control is nested in another (axe nested-interactive).
(() => {
  const name = () => {
    for (const input of document.querySelectorAll('.q-uploader__input:not([aria-label])')) {
      const title = input.closest('.q-uploader')?.querySelector('.q-uploader__title');
      input.setAttribute('aria-label', title?.textContent.trim() || 'Choose files');
      input.setAttribute('tabindex', '-1');
    }
  };
  new MutationObserver(name).observe(document.documentElement, {childList: true, subtree: true});
})();
