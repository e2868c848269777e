// Browsers show their own text; this only arms the prompt while a form has unsaved changes
// (the server sets `window.studioDirty`).
window.studioDirty = window.studioDirty || false;
window.addEventListener('beforeunload', (event) => {
  if (window.studioDirty) { event.preventDefault(); event.returnValue = ''; }
});
