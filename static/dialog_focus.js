// Modal dialogs keep keyboard focus inside and give it back to the button that opened them.
// Quasar's QDialog only pulls focus back when it lands elsewhere in the page: Tab from its last
// control (the dialog is the end of <body>) leaves the page, and a Tab pressed while it is still
// opening (it takes focus a tick later) reaches the page behind. So Tab and Shift+Tab wrap here.
// On close Quasar refocuses what was focused on open; after a mouse click that is the button's
// inner `.q-focus-helper` (NiceGUI's server round trip drops the Esc event Quasar would use to
// pick the button itself), so focus moves on to the button.
(() => {
  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), '
    + 'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex^="-"])';
  const topDialog = () => [...document.querySelectorAll('.q-dialog--modal')].pop();
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const follows = (a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0;

  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab' || event.altKey || event.ctrlKey || event.metaKey) return;
    const dialog = topDialog();
    if (!dialog) return;
    const items = [...dialog.querySelectorAll(FOCUSABLE)].filter(visible);
    if (!items.length) return;
    const active = document.activeElement;
    const inside = dialog.contains(active);
    // The next (previous) control after the focused one inside the dialog, if there is one.
    const next = inside && (event.shiftKey
      ? items.filter((el) => el !== active && follows(el, active) && !el.contains(active)).pop()
      : items.find((el) => el !== active && follows(active, el)));
    if (!next) {
      event.preventDefault();
      (event.shiftKey ? items[items.length - 1] : items[0]).focus();
    }
  }, true);

  document.addEventListener('focusin', (event) => {
    const helper = event.target;
    if (!helper.classList || !helper.classList.contains('q-focus-helper')) return;
    const dialog = document.querySelector('.q-dialog');
    if (!dialog || dialog.contains(helper)) return;
    const opener = helper.closest('[tabindex]:not([tabindex^="-"])');
    if (opener) opener.focus();
  });
})();
