// A "Copy code" button on every rendered code block (`pre[data-copy-code]`), also on blocks
// that stream in later. It goes in the block's header (the language label's row) when there is one.
(() => {
  const add = () => document.querySelectorAll('pre[data-copy-code]:not([data-copy-ready])')
    .forEach((pre) => {
      pre.dataset.copyReady = '1';
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'copy-code-button';
      button.textContent = 'Copy code';
      button.setAttribute('aria-label', 'Copy code');
      button.onclick = () => navigator.clipboard
        .writeText((pre.querySelector('code') || pre).innerText)
        .then(() => {
          button.textContent = 'Copied';
          setTimeout(() => (button.textContent = 'Copy code'), 1500);
        });
      const head = pre.previousElementSibling;
      (head && head.classList.contains('code-head') ? head : pre).appendChild(button);
    });
  new MutationObserver(add).observe(document.body, {childList: true, subtree: true});
  add();
})();
